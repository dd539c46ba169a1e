import { trackBody } from '../pool/trackBody.ts';
import { bufferBody } from '../retry/bufferBody.ts';
import type { BodyHandling, WebWire } from './Upstream.ts';

/** Body handling on web streams: Deno and Workers (and Node's WebSocket path). */
export const webBodies: BodyHandling<WebWire> = {
  async readAhead(body, limit) {
    const buffered = await bufferBody(body, limit);
    return buffered.replayable
      ? { replay: () => streamOf(buffered.bytes), replayable: true }
      : { replay: () => buffered.stream, replayable: false };
  },
  track: trackBody,
  discard(body) {
    body.cancel().catch(() => {});
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
