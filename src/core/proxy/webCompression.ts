import type { BodyCompression, ContentCoding, WebWire } from '../Upstream.ts';

/**
 * Compression on web streams, with the runtime's `CompressionStream`: gzip everywhere, brotli
 * where the runtime has it (the Compression standard's `brotli`, not yet in every runtime). A
 * `CompressionStream` cannot be told to flush, so a body of unknown length is left as it is
 * rather than held back (`flushesEachChunk`).
 */
export const webCompression: BodyCompression<WebWire> = {
  codings: new Set<ContentCoding>(hasBrotliStream() ? ['br', 'gzip'] : ['gzip']),
  flushesEachChunk: false,
  compress(body, coding) {
    const source = body instanceof Uint8Array ? new Blob([body as Uint8Array<ArrayBuffer>]).stream() : body;
    const compressor = new CompressionStream((coding === 'br' ? 'brotli' : 'gzip') as CompressionFormat);
    return source.pipeThrough(compressor as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  },
};

function hasBrotliStream(): boolean {
  try {
    new CompressionStream('brotli' as CompressionFormat);
    return true;
  } catch {
    return false;
  }
}

/**
 * Compression left to a runtime that encodes a response body itself by its `Content-Encoding`
 * (workerd: a `Response`'s `encodeBody` is `automatic` unless set), natively, in gzip and brotli:
 * compressing here as well would encode it twice. workerd's encoder does not flush per chunk
 * either (cloudflare/workerd#7390), so a body of unknown length is left uncompressed there too.
 */
export const runtimeEncodedCompression: BodyCompression<WebWire> = {
  codings: new Set<ContentCoding>(['br', 'gzip']),
  flushesEachChunk: false,
  compress: (body) => body,
};
