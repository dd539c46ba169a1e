import type { EventEmitter } from 'node:events';
import { pipeline, Readable } from 'node:stream';
import { brotliCompressSync, constants, createBrotliCompress, createGzip, gzipSync, type BrotliOptions, type ZlibOptions } from 'node:zlib';
import type { BodyCompression, ContentCoding, Wire } from '../core/Upstream.ts';

/**
 * Levels for compressing on the fly, where every response pays for them: gzip's default (6), and
 * brotli at 4, which is faster than gzip 6 and still smaller; brotli's own default (11) is meant
 * for files compressed once, ahead of time, and costs tens of times more CPU.
 */
const GZIP: ZlibOptions = { level: 6 };
const BROTLI: BrotliOptions = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };

/**
 * Compression on Node's wire (and Deno's, through its Node compatibility) with node:zlib. A
 * stream is piped through a compressor that flushes after every chunk (`Z_SYNC_FLUSH`,
 * `BROTLI_OPERATION_FLUSH`), so server-sent events and other streams reach the client as they
 * arrive, at the cost of a few bytes per chunk; the pipeline keeps the backend's backpressure,
 * and a failure or a client gone on either side ends both. Bytes that arrived whole with the
 * headers are compressed at once.
 */
/** The node:http wire as far as compression sees it (nodeWire.ts's `NodeWire`, which imports this file). */
type NodeBodies = Wire & { readonly body: Readable | Uint8Array; readonly signal: EventEmitter & { readonly aborted: boolean } };

export const nodeCompression: BodyCompression<NodeBodies> = {
  codings: new Set<ContentCoding>(['br', 'gzip']),
  flushesEachChunk: true,
  compress(body, coding) {
    if (!(body instanceof Readable)) return coding === 'br' ? brotliCompressSync(body, BROTLI) : gzipSync(body, GZIP);
    const compressor =
      coding === 'br' ? createBrotliCompress({ ...BROTLI, flush: constants.BROTLI_OPERATION_FLUSH }) : createGzip({ ...GZIP, flush: constants.Z_SYNC_FLUSH });
    return pipeline(body, compressor, () => {});
  },
};
