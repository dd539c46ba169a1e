import type { Config } from './schema/index.ts';

/**
 * What a listener enforces on every client connection, whatever the route: how much of a request
 * it reads, and how long it waits for the client. Read once at start-up (a listener's buffers
 * and timers are set when it opens); the defaults are nginx's where it has one.
 */
export interface ServerSettings {
  /** Longest request-target (path and query), in bytes: 414 past it. */
  readonly maxRequestTarget: number;
  /** Largest request head (request line and fields), in bytes: 431 past it. */
  readonly maxHeaderSize: number;
  /** Most header fields in one request: 431 past it. */
  readonly maxHeaderCount: number;
  /** Milliseconds from a request's first byte (or the connection's opening) to its complete head: 408 past it. */
  readonly clientHeader: number;
  /** Milliseconds an idle keep-alive connection is kept open. */
  readonly clientIdle: number;
  /** Longest pause, in milliseconds, in a request body the balancer is waiting for: 408 past it. */
  readonly clientBody: number;
  /** Longest time, in milliseconds, a client may leave its response unread before it is cut off. */
  readonly clientSend: number;
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  maxRequestTarget: 8 * 1024,
  maxHeaderSize: 16 * 1024,
  maxHeaderCount: 100,
  clientHeader: 10_000,
  clientIdle: 60_000,
  clientBody: 60_000,
  clientSend: 60_000,
};

/** The top level's `limits` and client `timeouts` over the defaults. */
export function serverSettings(config: Pick<Config, 'limits' | 'timeouts'>): ServerSettings {
  const { limits = {}, timeouts = {} } = config;
  const d = DEFAULT_SERVER_SETTINGS;
  return {
    maxRequestTarget: limits.max_request_target ?? d.maxRequestTarget,
    maxHeaderSize: limits.max_header_size ?? d.maxHeaderSize,
    maxHeaderCount: limits.max_header_count ?? d.maxHeaderCount,
    clientHeader: timeouts.client_header ?? d.clientHeader,
    clientIdle: timeouts.client_idle ?? d.clientIdle,
    clientBody: timeouts.client_body ?? d.clientBody,
    clientSend: timeouts.client_send ?? d.clientSend,
  };
}
