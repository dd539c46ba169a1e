import { trackBody } from './trackBody.ts';
import { bufferBody } from '../retry/bufferBody.ts';
import type { BodyHandling, WebWire } from '../Upstream.ts';

/** Body handling on web streams: Deno and Workers (and Node's WebSocket path). */
export const webBodies: BodyHandling<WebWire> = {
  async readAhead(body, limit) {
    if (body instanceof Uint8Array) return { replay: () => body, replayable: true };
    const buffered = await bufferBody(body, limit);
    return buffered.replayable
      ? { replay: () => streamOf(buffered.bytes), replayable: true }
      : { replay: () => buffered.stream, replayable: false };
  },
  track(body, done, onError) {
    if (!(body instanceof Uint8Array)) return trackBody(body, done, onError);
    done();
    return body;
  },
  discard(body) {
    if (!(body instanceof Uint8Array)) body.cancel().catch(() => {});
  },
};

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
