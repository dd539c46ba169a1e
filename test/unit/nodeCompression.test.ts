import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { brotliDecompressSync, createBrotliDecompress, createGunzip, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ContentCoding } from '../../src/core/Upstream.ts';
import { nodeCompression } from '../../src/server/nodeCompression.ts';
import { within } from '../helpers/waitFor.ts';

const decompressor = (coding: ContentCoding) => (coding === 'br' ? createBrotliDecompress() : createGunzip());

describe.each(['gzip', 'br'] as const)('nodeCompression (%s)', (coding) => {
  it('sends each chunk compressed as it arrives, before the backend has ended', async () => {
    const source = new PassThrough();
    const compressed = nodeCompression.compress(source, coding) as Readable;
    const decoded = compressed.pipe(decompressor(coding));
    const next = () => within(new Promise<string>((resolve) => decoded.once('data', (chunk: Buffer) => resolve(chunk.toString()))), 'a decoded chunk');
    source.write('data: one\n\n');
    expect(await next()).toBe('data: one\n\n');
    source.write('data: two\n\n');
    expect(await next()).toBe('data: two\n\n');
    expect(source.writableEnded).toBe(false);
    source.end();
  });

  it('compresses a whole body to bytes that decompress to it', async () => {
    const body = Buffer.from('hello compress '.repeat(100));
    const compressed = nodeCompression.compress(body, coding) as Uint8Array;
    expect(compressed).toBeInstanceOf(Uint8Array);
    expect(compressed.length).toBeLessThan(body.length / 5);
    expect((coding === 'br' ? brotliDecompressSync(compressed) : gunzipSync(compressed)).equals(body)).toBe(true);
  });

  it('keeps backpressure: a client that reads nothing stops the backend body', async () => {
    const source = new PassThrough({ highWaterMark: 16 * 1024 });
    nodeCompression.compress(source, coding);
    // Incompressible, so that what the compressor holds grows as fast as what it is given.
    let written = 0;
    while (source.write(randomBytes(16 * 1024)) && written < 64 * 1024 * 1024) written += 16 * 1024;
    expect(written).toBeLessThan(1024 * 1024);
  });

  it('fails the compressed body when the backend body fails, and ends the backend body when the client goes away', async () => {
    const failing = new PassThrough();
    const compressed = nodeCompression.compress(failing, coding) as Readable;
    compressed.on('error', () => {});
    const failed = within(new Promise<void>((resolve) => compressed.once('close', () => resolve())), 'compressed closed');
    failing.destroy(new Error('backend reset'));
    await failed;
    expect(compressed.errored).toBeTruthy();

    const abandoned = new PassThrough();
    abandoned.on('error', () => {});
    const gone = within(new Promise<void>((resolve) => abandoned.once('close', () => resolve())), 'source closed');
    (nodeCompression.compress(abandoned, coding) as Readable).destroy();
    await gone;
    expect(abandoned.destroyed).toBe(true);
  });
});
