import { removeHopByHop } from './hopByHop.ts';

/** Statuses whose responses never carry a body (RFC 9110 sections 6.4.1, 15.3.5, 15.4.5). */
function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Turns a backend's response into the client's: hop-by-hop fields removed, the body streamed
 * through untouched (still compressed if it was), and no body at all where HTTP forbids one.
 */
export function toClientResponse(method: string, upstream: Response): Response {
  const headers = new Headers(upstream.headers);
  removeHopByHop(headers);
  if (hasNoBody(method, upstream.status)) {
    // An unread body would keep the upstream connection busy.
    upstream.body?.cancel().catch(() => {});
    return new Response(null, { status: upstream.status, statusText: upstream.statusText, headers });
  }
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}
