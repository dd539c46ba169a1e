import { trackBody } from './trackBody.ts';
import { bufferBody } from '../retry/bufferBody.ts';
import type { BodyHandling, WebWire } from '../Upstream.ts';
import { webCompression } from './webCompression.ts';

/** Body handling on web streams: Deno and Workers (and Node's WebSocket path). */
export const webBodies: BodyHandling<WebWire> = {
  async readAhead(body, limit) {
    if (body instanceof Uint8Array) return { replay: () => body, replayable: true };
    const buffered = await bufferBody(body, limit);
    // The bytes themselves, sent again as they are: every runtime's upstream takes bytes as a
    // body (faster than a stream), so a retry costs no new stream.
    if (buffered.replayable) return { replay: () => buffered.bytes, replayable: true };
    return { replay: () => buffered.stream, replayable: false };
  },
  track(body, done, onError) {
    if (!(body instanceof Uint8Array)) return trackBody(body, done, onError);
    done();
    return body;
  },
  discard(body) {
    if (!(body instanceof Uint8Array)) body.cancel().catch(() => {});
  },
  compression: webCompression,
  limit(body, bytes, exceeded) {
    if (body instanceof Uint8Array) {
      if (body.byteLength <= bytes) return body;
      exceeded();
      return new ReadableStream({ start: (controller) => controller.error(new Error(`the request body went past ${bytes} bytes`)) });
    }
    // A plain pull stream rather than pipeThrough, which a runtime may shortcut between its own streams.
    const reader = body.getReader();
    let seen = 0;
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          seen += value.byteLength;
          if (seen <= bytes) return controller.enqueue(value);
          exceeded();
          reader.cancel().catch(() => {});
          controller.error(new Error(`the request body went past ${bytes} bytes`));
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  },
};
