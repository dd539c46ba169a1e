import type { Answer } from '../Answer.ts';
import type { HeaderFields } from '../http/HeaderFields.ts';
import type { BodyHandling, Wire } from '../Upstream.ts';
import type { CompressSettings } from './CompressSettings.ts';
import { decideCompression, type CompressionDecision } from './decideCompression.ts';
import { addVary } from '../http/vary.ts';

/**
 * `compress`, the lifecycle's step after the response rules: the answer as it goes to the client,
 * its body compressed where `decideCompression` says so, with `Content-Encoding` set,
 * `Content-Length` and `Accept-Ranges` dropped (they described the uncompressed bytes) and a
 * strong ETag made weak (the bytes differ, the content does not: RFC 9110 section 8.8.1, as nginx
 * does). `Vary: Accept-Encoding` is added wherever the decision depended on the client's
 * Accept-Encoding.
 */
export function compressAnswer<W extends Wire>(
  settings: CompressSettings,
  bodies: BodyHandling<W>,
  request: { readonly method: string; readonly headers: HeaderFields },
  answer: Answer<W['body']>,
): { readonly answer: Answer<W['body']>; readonly decision: CompressionDecision } {
  const { headers, body } = answer;
  const decision = decideCompression(settings, bodies.compression, request.method, request.headers.get('accept-encoding'), {
    status: answer.status,
    headers,
    hasBody: body !== null && body !== '',
  });
  if (decision.vary) addVary(headers, 'accept-encoding');
  if (decision.coding === undefined || body === null || typeof body === 'string') return { answer, decision };
  headers.set('content-encoding', decision.coding);
  headers.delete('content-length');
  headers.delete('accept-ranges');
  const etag = headers.get('etag');
  if (etag?.startsWith('"')) headers.set('etag', `W/${etag}`);
  return { answer: { ...answer, body: bodies.compression.compress(body, decision.coding) }, decision };
}
