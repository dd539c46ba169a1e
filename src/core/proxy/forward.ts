import type { PickRequest } from '../balancing/BalancingStrategy.ts';
import { plainResponse } from '../responses.ts';
import type { Pool } from '../pool/Pool.ts';
import { toClientResponse } from './toClientResponse.ts';
import { UpstreamError, type Timeouts, type Upstream } from './Upstream.ts';

/** The request as it leaves the balancer, before a backend is chosen. */
export interface OutgoingRequest {
  readonly method: string;
  /** Normalised (and possibly rewritten) path, without the backend's base path. */
  path: string;
  /** Raw query string including its `?`, or `''`. */
  query: string;
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
}

export interface ForwardOptions {
  readonly upstream: Upstream;
  readonly timeouts: Timeouts;
  /** Fires when the client goes away. */
  readonly signal: AbortSignal;
  /** Names the route in the 503 body and in logs. */
  readonly routeName: string;
  readonly pick: PickRequest;
}

/**
 * Sends the request to a backend of the pool and returns the client's response:
 * 503 when no backend is healthy, 502 when the backend cannot be reached or fails, 504 on timeout.
 */
export async function forward(pool: Pool, outgoing: OutgoingRequest, options: ForwardOptions): Promise<Response> {
  const backend = pool.pick(options.pick);
  if (!backend) return plainResponse(503, `Service Unavailable: no healthy backend for ${options.routeName}`);

  try {
    const response = await options.upstream({
      origin: backend.origin,
      target: backend.basePath + outgoing.path + outgoing.query,
      method: outgoing.method,
      headers: outgoing.headers,
      body: outgoing.body,
      signal: options.signal,
      timeouts: options.timeouts,
    });
    return toClientResponse(outgoing.method, response);
  } catch (error) {
    if (error instanceof UpstreamError && error.failure === 'timeout') return plainResponse(504, 'Gateway Timeout');
    return plainResponse(502, 'Bad Gateway');
  }
}
