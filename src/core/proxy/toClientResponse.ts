import { removeHopByHop } from './hopByHop.ts';
import { bodyOf, isProxiedResponse, proxiedResponse } from './proxiedResponse.ts';

/**
 * Statuses whose responses never carry a body (RFC 9110 sections 6.4.1, 15.3.5, 15.3.6, 15.4.5),
 * which is also the Fetch standard's "null body status" list: a Response with one of them refuses a body.
 */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || NULL_BODY_STATUSES.has(status) || (status >= 100 && status < 200);
}

/**
 * Turns a backend's response into the client's: hop-by-hop fields removed, the body streamed
 * through untouched (still compressed if it was), and no body at all where HTTP forbids one.
 * The reason phrase is not kept: HTTP/2 has none, and Node writes the standard one.
 * @param observe wraps the body on its way (in-flight counting, for one)
 */
export function toClientResponse(
  method: string,
  upstream: Response,
  observe?: (body: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>,
): Response {
  // Our own upstream clients build mutable responses; a runtime fetch's headers are immutable.
  const headers = isProxiedResponse(upstream) ? upstream.headers : new Headers(upstream.headers);
  removeHopByHop(headers);
  const body = bodyOf(upstream);
  if (!body || hasNoBody(method, upstream.status)) {
    // An unread body would keep the upstream connection busy.
    body?.cancel().catch(() => {});
    return proxiedResponse(null, { status: upstream.status, headers });
  }
  return proxiedResponse(observe ? observe(body) : body, { status: upstream.status, headers });
}
