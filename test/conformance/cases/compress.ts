import { brotliDecompressSync, createBrotliDecompress, createGunzip, gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { within } from '../../helpers/waitFor.ts';
import { open, send, type Reply } from '../client.ts';
import type { ConformanceFixture } from '../fixture.ts';
import { compressibleText } from '../streamingBackend.ts';

/** The body as the client decodes it by its Content-Encoding. */
function decoded(reply: Reply): Buffer {
  const coding = reply.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(reply.body);
  if (coding === 'gzip') return gunzipSync(reply.body);
  return reply.body;
}

/** `compress`: responses the backend did not compress, compressed for the clients that accept it. */
export function compressCases(fx: ConformanceFixture): void {
  describe('compress', () => {
    const get = (host: string, path: string, acceptEncoding?: string) =>
      send(fx.balancer.url, path, { headers: { host, ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }) } });

    it('sends gzip to a client that accepts only gzip: the backend\'s bytes, Vary, a weak ETag, no Content-Length', async () => {
      const reply = await get('on.compress.test', '/text/20000', 'gzip');
      expect(reply.status).toBe(200);
      expect(reply.headers['content-encoding']).toBe('gzip');
      expect(reply.headers.vary).toMatch(/accept-encoding/i);
      expect(reply.headers.etag).toBe('W/"t1"');
      expect(reply.headers['content-length']).toBeUndefined();
      expect(reply.body.length).toBeLessThan(20000 / 5);
      expect(gunzipSync(reply.body).equals(compressibleText(20000))).toBe(true);
    });

    it(
      fx.facts.encodesForClient ? 'sends br or gzip, as the runtime picks, when the client accepts both alike' : 'prefers br when the client accepts br and gzip alike',
      async () => {
        const reply = await get('on.compress.test', '/text/20000', 'gzip, deflate, br');
        if (fx.facts.encodesForClient) expect(['br', 'gzip']).toContain(reply.headers['content-encoding']);
        else expect(reply.headers['content-encoding']).toBe('br');
        expect(decoded(reply).equals(compressibleText(20000))).toBe(true);
      },
    );

    it(fx.facts.encodesForClient ? 'sends a coding the client accepts on a route that offers only gzip (the runtime picks)' : 'falls back to gzip on a route that offers only gzip', async () => {
      const reply = await get('gzip.compress.test', '/text/20000', 'br, gzip');
      if (fx.facts.encodesForClient) expect(['br', 'gzip']).toContain(reply.headers['content-encoding']);
      else expect(reply.headers['content-encoding']).toBe('gzip');
      expect(decoded(reply).equals(compressibleText(20000))).toBe(true);
    });

    it('sends the body as it is to a client that accepts no coding, still with Vary', async () => {
      for (const acceptEncoding of [undefined, 'identity', 'gzip;q=0, br;q=0']) {
        const reply = await get('on.compress.test', '/text/20000', acceptEncoding);
        expect(reply.headers['content-encoding'], acceptEncoding).toBeUndefined();
        expect(reply.headers.vary).toMatch(/accept-encoding/i);
        expect(reply.headers.etag).toBe('"t1"');
        expect(reply.body.equals(compressibleText(20000))).toBe(true);
      }
    });

    it(fx.facts.encodesForClient ? 'leaves a type not listed as it is (text below min_size the runtime compresses itself)' : 'leaves a body below min_size, and a type not listed, as they are', async () => {
      const small = await get('on.compress.test', '/text/1000', 'gzip');
      if (!fx.facts.encodesForClient) expect(small.headers['content-encoding']).toBeUndefined();
      expect(decoded(small).equals(compressibleText(1000))).toBe(true);
      const image = await get('on.compress.test', '/png', 'gzip');
      expect(image.headers['content-encoding']).toBeUndefined();
      expect(image.body.equals(compressibleText(4096))).toBe(true);
    });

    it('leaves a response the backend compressed itself encoded once, as the backend encoded it', async () => {
      const reply = await get('on.compress.test', '/gzip', 'br, gzip');
      // workerd decodes what it fetched, and encodes it again as it picks (compressedBodyVerbatim).
      if (fx.facts.encodesForClient) expect(['br', 'gzip']).toContain(reply.headers['content-encoding']);
      else expect(reply.headers['content-encoding']).toBe('gzip');
      expect(decoded(reply).equals(compressibleText(4096))).toBe(true);
    });

    it(
      fx.facts.compressesStreams
        ? 'compresses server-sent events chunk by chunk: an event arrives before the backend ends'
        : 'sends server-sent events uncompressed (this runtime cannot flush its compressor): an event arrives before the backend ends',
      async () => {
        const request = open(fx.balancer.url, '/events', { headers: { host: 'on.compress.test', 'accept-encoding': 'br, gzip' } });
        request.end();
        try {
          const response = await within(request.response, 'the response head');
          const coding = response.headers['content-encoding'];
          expect(coding).toBe(fx.facts.compressesStreams ? 'br' : undefined);
          const decoded: Readable = coding === 'br' ? response.body.pipe(createBrotliDecompress()) : coding === 'gzip' ? response.body.pipe(createGunzip()) : response.body;
          // The request is aborted below, mid-stream: the decoder then meets a cut-off stream, which is the test's doing.
          decoded.on('error', () => {});
          const first = await within(new Promise<string>((resolve) => decoded.once('data', (chunk: Buffer) => resolve(chunk.toString()))), 'the first event');
          expect(first).toBe('data: one\n\n');
        } finally {
          request.abort();
        }
      },
    );
  });
}
