import { finished, type Readable } from 'node:stream';

const NODE_SOURCE = Symbol('switchyard.nodeSource');

/** A Node stream behind a web stream, and how its errors read in the core's terms. */
export interface NodeSource {
  readonly source: Readable;
  readonly mapError: (error: unknown) => unknown;
}

type NodeBacked = ReadableStream<Uint8Array> & { [NODE_SOURCE]?: NodeSource & { claimed: boolean } };

/**
 * Wraps a Node stream as a web stream, lazily: nothing is read until the web stream is pulled,
 * so the Node adapter may instead claim the Node stream and pipe it straight to the client
 * (`claimNodeSource`). Backpressure: the source is paused while the web stream's queue is full.
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
  const stream: NodeBacked = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!started) start(controller);
        readable.resume();
      },
      cancel(reason) {
        readable.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 0 },
  );
  stream[NODE_SOURCE] = { source: readable, mapError, claimed: false };
  return stream;
}

/**
 * Takes the Node stream behind a web stream made by `toWebStream`, if nobody has read from it yet.
 * The web stream must not be used afterwards.
 */
export function claimNodeSource(stream: ReadableStream<Uint8Array>): NodeSource | undefined {
  const source = (stream as NodeBacked)[NODE_SOURCE];
  if (!source || source.claimed || stream.locked) return undefined;
  source.claimed = true;
  return source;
}
