import { trackBody } from './trackBody.ts';
import { bufferBody } from '../retry/bufferBody.ts';
import type { BodyHandling, WebWire } from '../Upstream.ts';
import { webCompression } from './webCompression.ts';

/** Body handling on web streams: the Worker (`app.ts`); Node and Deno serve through node:http (`nodeBodies`). */
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
          await dropBriefly(reader);
          reader.cancel().catch(() => {});
          controller.error(new Error(`the request body went past ${bytes} bytes`));
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  },
};

/**
 * How much of a body past `max_request_body` is still read, and dropped, before it is cut off, and
 * for how long: the grace an HTTP server (kj's, workerd's) gives an upload its application stopped
 * reading, so that the client finishes sending and the connection can carry the next request.
 */
export const CUT_OFF_GRACE = Object.freeze({ bytes: 65_536, ms: 1_000 });

/**
 * Reads and drops what follows of a body gone past its limit, until it ends or the grace is spent.
 * Under `wrangler dev`, a Worker that stops reading a request body part-way makes workerd close the
 * connection it came on after the answer, while wrangler's proxy keeps that connection for its next
 * request, which then fails as if the Worker had restarted (wrangler 4.86 answers a POST 503 "Your
 * worker restarted mid-request" and holds a GET unanswered). Past the grace, it is cut off as before.
 */
async function dropBriefly(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const spent = new Promise<void>((resolve) => (timer = setTimeout(resolve, CUT_OFF_GRACE.ms)));
  const drained = (async () => {
    for (let dropped = 0; dropped <= CUT_OFF_GRACE.bytes; ) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.byteLength;
    }
  })().catch(() => {});
  await Promise.race([drained, spent]);
  clearTimeout(timer);
}
