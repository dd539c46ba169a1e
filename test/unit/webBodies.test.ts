import { describe, expect, it } from 'vitest';
import { webBodies } from '../../src/core/proxy/webBodies.ts';

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
