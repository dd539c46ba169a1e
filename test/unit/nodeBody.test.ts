import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { toWebStream } from '../../src/node/nodeBody.ts';

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = '';
  for (let read = await reader.read(); !read.done; read = await reader.read()) text += Buffer.from(read.value).toString();
  return text;
}

describe('toWebStream', () => {
  it('streams a Node body through, lazily', async () => {
    const source = new PassThrough();
    const stream = toWebStream(source);
    source.end('hello');
    expect(await readAll(stream)).toBe('hello');
  });

  it('errors when the source failed before the first read, instead of hanging', async () => {
    const source = new PassThrough();
    const stream = toWebStream(source, (error) => new Error(`mapped: ${(error as Error).message}`));
    source.destroy(new Error('reset by backend'));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(readAll(stream)).rejects.toThrow('mapped: reset by backend');
  });

  it('errors when the source was closed early without an error', async () => {
    const source = new PassThrough();
    const stream = toWebStream(source);
    source.write('part');
    source.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(readAll(stream)).rejects.toThrow();
  });
});
