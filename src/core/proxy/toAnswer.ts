import type { Answer } from '../Answer.ts';
import { removeHopByHop } from '../http/hopByHop.ts';
import type { BodyHandling, UpstreamResponse, Wire } from '../Upstream.ts';

/**
 * Statuses whose responses never carry a body (RFC 9110 sections 6.4.1, 15.3.5, 15.3.6, 15.4.5),
 * which is also the Fetch standard's "null body status" list: a Response with one of them refuses a body.
 */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || NULL_BODY_STATUSES.has(status) || (status >= 100 && status < 200);
}

/**
 * A backend's response as the client's answer: hop-by-hop fields removed (in place), the body
 * streamed through untouched (still compressed if it was), and no body at all where HTTP forbids
 * one. The reason phrase is not kept: HTTP/2 has none, and the runtimes write the standard one.
 * @param observe wraps the body on its way (in-flight counting, for one)
 */
export function toAnswer<W extends Wire>(
  method: string,
  upstream: UpstreamResponse<W>,
  bodies: BodyHandling<W>,
  observe: (body: W['body']) => W['body'],
): Answer<W['body']> {
  const { status, headers, body, trailers } = upstream;
  removeHopByHop(headers);
  if (body === null || body === undefined) return { status, headers, body: null, tunnel: upstream.tunnel, trailers };
  // A 101's "body" is the upgraded connection itself, which the runtime joins to the client's;
  // observed like a body, so its backend counts it in flight until the tunnel closes.
  if (status === 101) return { status, headers, body: observe(body), tunnel: upstream.tunnel };
  if (hasNoBody(method, status)) {
    // An unread body would keep the upstream connection busy.
    bodies.discard(body);
    return { status, headers, body: null };
  }
  return { status, headers, body: observe(body), trailers };
}
