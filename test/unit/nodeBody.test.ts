import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { trackBody } from '../../src/core/pool/trackBody.ts';
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

describe('trackBody over a Node-backed body', () => {
  const track = (source: PassThrough) => {
    const events: string[] = [];
    const body = toWebStream(source, (error) => new Error(`mapped: ${(error as Error).message}`));
    const tracked = trackBody(body, () => events.push('done'), (error) => events.push(`error ${(error as Error).message}`));
    return { body, tracked, events };
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

  it('adds no wrapper stream, and reports the end once the body is read', async () => {
    const source = new PassThrough();
    const { body, tracked, events } = track(source);
    expect(tracked).toBe(body);
    source.end('all of it');
    expect(await readAll(tracked)).toBe('all of it');
    await settle();
    expect(events).toEqual(['done']);
  });

  it('reports a failing source as an error, mapped, then the end', async () => {
    const source = new PassThrough();
    const { tracked, events } = track(source);
    source.write('part');
    source.destroy(new Error('socket reset'));
    await expect(readAll(tracked)).rejects.toThrow();
    await settle();
    expect(events).toEqual(['error mapped: socket reset', 'done']);
  });

  it('reports a reader that goes away as the end, not as a failure', async () => {
    const source = new PassThrough();
    const { tracked, events } = track(source);
    await tracked.cancel();
    await settle();
    expect(events).toEqual(['done']);
  });
});
