import type { UpstreamError } from '../UpstreamError.ts';

/** Why an attempt may be retried: `connect_failure`, `timeout` (connect or response headers), `reset` (no response). */
export type RetryCause = 'connect_failure' | 'timeout' | 'reset';

/** A pool's retry rules. */
export interface RetrySettings {
  /** Further attempts after the first, each on a backend not tried yet for this request. 0 turns retries off. */
  readonly attempts: number;
  readonly on: ReadonlySet<RetryCause>;
  /** Retries may be at most this share of requests (over the last 10 s), plus the floor below. */
  readonly budgetRatio: number;
  /** Retries allowed per second whatever the ratio says, so a quiet pool can still retry. */
  readonly budgetMinPerSecond: number;
  /** Request bodies up to this many bytes are buffered so they can be sent again; larger ones are never retried. */
  readonly maxBufferedBody: number;
}

export const DEFAULT_RETRIES: RetrySettings = {
  attempts: 2,
  on: new Set(['connect_failure', 'timeout', 'reset']),
  budgetRatio: 0.2,
  budgetMinPerSecond: 10,
  maxBufferedBody: 64 * 1024,
};

/** Methods that RFC 9110 section 9.2.2 defines as idempotent: sending one twice does no more harm than once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Whether a failed attempt may be sent again to another backend. Idempotent requests are retried
 * on every configured cause; any other request only when the connection was never opened
 * (`connect`), the one failure that proves no backend saw it.
 */
export function mayRetry(error: UpstreamError, method: string, settings: RetrySettings): boolean {
  const cause: RetryCause = error.failure === 'connect' ? 'connect_failure' : error.failure === 'timeout' ? 'timeout' : 'reset';
  if (!settings.on.has(cause)) return false;
  return cause === 'connect_failure' || IDEMPOTENT.has(method.toUpperCase());
}
