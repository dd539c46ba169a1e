import type { ContentCoding } from '../Upstream.ts';

/** The coding chosen for a response, or why none was. */
export type Negotiated = { readonly coding: ContentCoding } | { readonly coding: undefined; readonly reason: string };

/** `q=` as RFC 9110 section 12.4.2 spells a weight: 0 to 1, at most three decimals. */
const WEIGHT = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Picks the coding to compress a response with from the client's `Accept-Encoding` (RFC 9110
 * section 12.5.3): the offered coding with the highest weight above 0, named or through `*`;
 * between equal weights, the first in `offered`. A client that weighs `identity` above every
 * coding it accepts gets the response as it is. `x-gzip` is `gzip` (section 8.4.1.3). An element
 * whose weight is not one is ignored, as if not sent.
 * @param header the request's Accept-Encoding, null when it sent none (then nothing is compressed,
 *   as nginx, Caddy and Traefik do: a client that says nothing may not decode anything)
 * @param offered the codings the route and the runtime can produce, most preferred first
 */
export function negotiateCoding(header: string | null, offered: readonly ContentCoding[]): Negotiated {
  if (header === null) return { coding: undefined, reason: 'the request has no Accept-Encoding' };
  const weights = new Map<string, number>();
  for (const element of header.split(',')) {
    const [name, ...parameters] = element.split(';');
    const coding = name.trim().toLowerCase();
    if (coding === '') continue;
    let weight = 1;
    for (const parameter of parameters) {
      const [key, value = ''] = parameter.split('=', 2);
      if (key.trim().toLowerCase() !== 'q') continue;
      weight = WEIGHT.test(value.trim()) ? Number(value.trim()) : NaN;
    }
    if (Number.isNaN(weight)) continue;
    const key = coding === 'x-gzip' ? 'gzip' : coding;
    // A coding named twice keeps its highest weight: the client accepts it at least that much.
    weights.set(key, Math.max(weight, weights.get(key) ?? 0));
  }
  const any = weights.get('*');
  let best: ContentCoding | undefined;
  let bestWeight = 0;
  for (const coding of offered) {
    const weight = weights.get(coding) ?? any ?? 0;
    if (weight > bestWeight) [best, bestWeight] = [coding, weight];
  }
  if (best === undefined) return { coding: undefined, reason: `the client accepts none of ${offered.join(', ')}` };
  const identity = weights.get('identity');
  if (identity !== undefined && identity > bestWeight) return { coding: undefined, reason: `the client prefers identity (q=${identity}) to ${best} (q=${bestWeight})` };
  return { coding: best };
}
