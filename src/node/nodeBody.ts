import { finished, type Readable } from 'node:stream';
import { markSettled } from '../core/proxy/bodySettled.ts';

/**
 * Wraps a Node stream as a web stream (Deno's web wire over undici), lazily: nothing is read until
 * the web stream is pulled. Backpressure: the source is paused while the web stream's queue is full.
 * An error in the source (a backend dying mid-body) errors the web stream, so the client's
 * response is cut off rather than ended as if complete.
 */
export function toWebStream(readable: Readable, mapError: (error: unknown) => unknown = (error) => error): ReadableStream<Uint8Array> {
  let started = false;
  // Until someone reads, an error (a cancel, a reset) has no other listener and would crash the process.
  readable.on('error', () => {});
  const start = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    started = true;
    readable.on('data', (chunk: Buffer) => {
      controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if ((controller.desiredSize ?? 0) <= 0) readable.pause();
    });
    // `finished` also reports a source that ended or failed before this first read.
    finished(readable, (error) => {
      try {
        if (error) controller.error(mapError(readable.errored ?? error));
        else controller.close();
      } catch {
        // Cancelled meanwhile: nothing is listening any more.
      }
    });
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!started) start(controller);
        readable.resume();
      },
      cancel() {
        readable.destroy(); // a reader that went away: reported as abandonment, not as a failure
      },
    },
    { highWaterMark: 0 },
  );
  // The Node stream knows when it is over: listeners are told from there, with no wrapper stream
  // around this one.
  markSettled(stream, (listener) =>
    finished(readable, (error) => listener(error && !isAbandonment(error) ? mapError(readable.errored ?? error) : undefined)),
  );
  return stream;
}

/** A reader that went away (a cancel), not a failing source. */
function isAbandonment(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'UND_ERR_ABORTED';
}
