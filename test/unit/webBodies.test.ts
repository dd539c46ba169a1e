import { describe, expect, it } from 'vitest';
import { CUT_OFF_GRACE, webBodies } from '../../src/core/proxy/webBodies.ts';

const encode = (text: string) => new TextEncoder().encode(text);

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encode(chunk));
      controller.close();
    },
  });
}

describe('webBodies.readAhead', () => {
  it('replays a body within the limit as the same bytes every time, with no stream made per attempt', async () => {
    const ahead = await webBodies.readAhead(streamOf('abc', 'de'), 5);
    expect(ahead.replayable).toBe(true);
    const first = ahead.replay();
    expect(first).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(first as Uint8Array)).toBe('abcde');
    expect(ahead.replay()).toBe(first);
  });

  it('replays a body already in bytes as it is', async () => {
    const bytes = encode('payload');
    const ahead = await webBodies.readAhead(bytes, 1);
    expect(ahead.replayable).toBe(true);
    expect(ahead.replay()).toBe(bytes);
  });

  it('gives a body over the limit back once, whole and in order', async () => {
    const ahead = await webBodies.readAhead(streamOf('aaaa', 'bbbb', 'cccc'), 5);
    expect(ahead.replayable).toBe(false);
    expect(await new Response(ahead.replay() as ReadableStream<Uint8Array>).text()).toBe('aaaabbbbcccc');
  });
});

describe('webBodies.limit', () => {
  const read = async (body: ReadableStream<Uint8Array> | Uint8Array) => new Response(body as BodyInit).text();

  it('passes a body within the limit unchanged, and says nothing', async () => {
    let exceeded = false;
    expect(await read(webBodies.limit(streamOf('abc', 'de'), 5, () => (exceeded = true)))).toBe('abcde');
    expect(exceeded).toBe(false);
  });

  it('errors a body once it goes past the limit, after saying so, and cancels the source past the grace', async () => {
    let exceeded = false;
    let cancelled = false;
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({ pull: (controller) => void (sent++, controller.enqueue(encode('0123456789'))), cancel: () => void (cancelled = true) });
    await expect(read(webBodies.limit(endless, 25, () => (exceeded = true)))).rejects.toThrow('the request body went past 25 bytes');
    expect(exceeded).toBe(true);
    expect(cancelled).toBe(true);
    // Read on no further than the grace's bytes (and the chunk that crossed them).
    expect(sent * 10).toBeLessThanOrEqual(30 + CUT_OFF_GRACE.bytes + 20);
  });

  it('reads a short rest of a body past the limit to its end before erroring, so the connection can be kept (wrangler dev)', async () => {
    let exceeded = false;
    let cancelled = false;
    let pulled = 0;
    const chunks = ['0123456789', '0123456789', '0123456789', '0123456789'];
    const source = new ReadableStream<Uint8Array>({
      pull: (controller) => void (pulled++, chunks.length ? controller.enqueue(encode(chunks.shift()!)) : controller.close()),
      cancel: () => void (cancelled = true),
    });
    await expect(read(webBodies.limit(source, 15, () => (exceeded = true)))).rejects.toThrow('the request body went past 15 bytes');
    expect(exceeded).toBe(true);
    expect(chunks).toEqual([]);
    expect(pulled).toBe(5);
    expect(cancelled).toBe(false);
  });

  it('cuts off a body past the limit whose rest does not come within the grace period', async () => {
    let cancelled = false;
    let first = true;
    const stalled = new ReadableStream<Uint8Array>({
      pull: (controller) => (first ? void ((first = false), controller.enqueue(encode('0123456789abcdef'))) : new Promise<void>(() => {})),
      cancel: () => void (cancelled = true),
    });
    const started = Date.now();
    await expect(read(webBodies.limit(stalled, 10, () => {}))).rejects.toThrow('the request body went past 10 bytes');
    expect(cancelled).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(CUT_OFF_GRACE.ms - 50);
    expect(Date.now() - started).toBeLessThan(CUT_OFF_GRACE.ms + 5_000);
  });

  it('counts a byte body by its length', async () => {
    let exceeded = false;
    await expect(read(webBodies.limit(encode('abcdef'), 5, () => (exceeded = true)))).rejects.toThrow();
    expect(exceeded).toBe(true);
  });
});
