/** Time limits for one upstream exchange, in milliseconds. */
export interface Timeouts {
  /** Opening the connection to the backend. */
  readonly connect: number;
  /** From sending the request to receiving the response headers. */
  readonly responseHeaders: number;
  /** Longest pause between two chunks of the response body. */
  readonly bodyIdle: number;
}

/** Defaults, as documented in the README: generous enough for slow apps, short enough to fail over. */
export const DEFAULT_TIMEOUTS: Timeouts = { connect: 5_000, responseHeaders: 60_000, bodyIdle: 60_000 };

/** The request the balancer sends to one backend. */
export interface UpstreamRequest {
  /** The backend's origin, `http://host:port`. */
  readonly origin: string;
  /** What follows the origin: the backend's base path, the normalised path, the raw query. */
  readonly target: string;
  readonly method: string;
  /**
   * Headers to send, hop-by-hop ones already removed. A `host` entry is sent as the Host header
   * where the runtime allows it; without one, the backend's own host:port is sent.
   */
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
  /** Fires when the client goes away: the upstream exchange must stop. */
  readonly signal: AbortSignal;
  readonly timeouts: Timeouts;
}

/**
 * Sends a request to a backend and resolves with its response, body unread and still streaming.
 * Redirects are returned, never followed; compressed bodies are returned as sent. Rejects with an
 * `UpstreamError` when no response headers arrive.
 */
export type Upstream = (request: UpstreamRequest) => Promise<Response>;

/** Why an upstream exchange failed: the balancer answers 502 or 504 accordingly. */
export type UpstreamFailure =
  /** The connection was refused or could not be opened: the request never reached the backend. */
  | 'connect'
  /** A time limit passed (connect, or response headers). */
  | 'timeout'
  /** Anything else: reset mid-request, a malformed response. The backend may have seen the request. */
  | 'failed';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly failure: UpstreamFailure;

  constructor(failure: UpstreamFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
  }
}
