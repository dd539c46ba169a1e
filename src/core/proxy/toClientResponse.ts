import { removeHopByHop } from './hopByHop.ts';
import { bodyOf, isProxiedResponse, proxiedResponse } from './proxiedResponse.ts';

/** Statuses whose responses never carry a body (RFC 9110 sections 6.4.1, 15.3.5, 15.4.5). */
function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
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
