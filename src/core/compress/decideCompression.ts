import type { HeaderFields } from '../http/HeaderFields.ts';
import type { ContentCoding } from '../Upstream.ts';
import type { CompressSettings } from './CompressSettings.ts';
import { negotiateCoding } from './negotiateCoding.ts';

/** What a runtime can do (`BodyCompression`), as far as the decision needs it. */
export interface CompressionAbility {
  readonly codings: ReadonlySet<ContentCoding>;
  readonly flushesEachChunk: boolean;
}

/** The response as far as the decision needs it. */
export interface ResponseHead {
  readonly status: number;
  readonly headers: HeaderFields;
  /** False for a response without a body (a HEAD's, a 204, a 304). */
  readonly hasBody: boolean;
}

/**
 * Whether to compress one response, and why (or why not), so `explain` and the tests can say so.
 * `vary` is true where the answer depends on the client's Accept-Encoding, which the response
 * must then say (`Vary: Accept-Encoding`), compressed or not: a cache would otherwise give
 * one client's answer to another.
 */
export type CompressionDecision =
  | { readonly coding: ContentCoding; readonly vary: true }
  | { readonly coding: undefined; readonly vary: boolean; readonly reason: string };

const skip = (reason: string, vary = false): CompressionDecision => ({ coding: undefined, vary, reason });

/**
 * Decides whether a response the backend sent is compressed on its way to the client, as nginx's
 * gzip, Caddy's encode and Traefik's compress do: only a response with a body, not already
 * encoded, not partial, not marked `no-transform`, of a listed media type, at least `min_size`
 * long (a body of unknown length counts as long enough), in a coding the client accepts.
 * @param method the request's method: a HEAD's answer has headers only, and is left as it is
 * @param acceptEncoding the request's Accept-Encoding, null when it sent none
 */
export function decideCompression(
  settings: CompressSettings,
  ability: CompressionAbility,
  method: string,
  acceptEncoding: string | null,
  response: ResponseHead,
): CompressionDecision {
  const { status, headers } = response;
  if (method === 'HEAD') return skip('a HEAD request gets no body');
  // Informational (an upgrade's 101 included), No Content, Not Modified: no body to compress.
  // A 206's bytes are ranges of the uncompressed representation (RFC 9110 section 14).
  if (status < 200 || status === 204 || status === 206 || status === 304) return skip(`a ${status} response is not compressed`);
  if (!response.hasBody) return skip('the response has no body');
  const encoding = headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return skip(`the backend sent it encoded (${encoding})`);
  if (headers.has('content-range')) return skip('the response is a range');
  // A proxy must not change a no-transform message's content (RFC 9111 section 5.2.2.6).
  if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(headers.get('cache-control') ?? '')) return skip('Cache-Control: no-transform');
  const contentType = headers.get('content-type');
  if (contentType === null) return skip('the response has no Content-Type');
  const mediaType = contentType.split(';', 1)[0].trim().toLowerCase();
  if (!settings.compressesType(mediaType)) return skip(`${mediaType} is not a type compressed`);
  const length = headers.get('content-length');
  if (length === null) {
    if (!ability.flushesEachChunk) return skip('a body of unknown length is not compressed on this runtime (it would be held back until it ends)');
  } else if (Number(length) < settings.minSize) {
    return skip(`Content-Length ${length} is below min_size ${settings.minSize}`);
  }
  const offered = settings.codings.filter((coding) => ability.codings.has(coding));
  // A runtime without brotli compresses with gzip instead, where the route offers it.
  if (offered.length === 0) return skip(`this runtime compresses with none of ${settings.codings.join(', ')}`);
  const negotiated = negotiateCoding(acceptEncoding, offered);
  if (negotiated.coding === undefined) return skip(negotiated.reason, true);
  return { coding: negotiated.coding, vary: true };
}
