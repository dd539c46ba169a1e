import { Readable } from 'node:stream';
import { markSettled, type SettledListener } from '../core/proxy/bodySettled.ts';

/**
 * A response body that the upstream client fills as the backend's bytes arrive (`body` is the end
 * the balancer reads). Each wire has its own kind: a Node stream on Node, a web stream on Deno.
 * Filling the reader's own stream directly saves the intermediate stream undici's `request()`
 * makes per response (docs/performance.md).
 */
export interface BodyFeed<B> {
  readonly body: B;
  /** Adds a chunk. False when the reader's queue is full: the source pauses until `resume`. */
  push(chunk: Uint8Array): boolean;
  /** The backend's body is complete. */
  end(): void;
  /** The backend's body broke off: the reader sees `error`, so the client's response is cut off. */
  fail(error: Error): void;
}

/** What a feed tells the source: the reader wants more, or went away before the end. */
export interface FeedSource {
  resume(): void;
  abandon(): void;
}

export type FeedMaker<B> = (source: FeedSource) => BodyFeed<B>;

/** Up to this much of a body waits in the reader's queue before the backend is paused. */
const QUEUE_BYTES = 64 * 1024;

/** A Node stream fed by the upstream client: Node's wire. */
class FedBody extends Readable implements BodyFeed<Readable> {
  readonly #source: FeedSource;
  #over = false;

  constructor(source: FeedSource) {
    // Node 20's default (16 KiB) is less than one socket read: the backend would pause on every chunk.
    super({ highWaterMark: QUEUE_BYTES });
    this.#source = source;
    // A body nobody reads yet may still fail; without a listener that would crash the process.
    this.on('error', () => {});
  }

  get body(): Readable {
    return this;
  }

  override _read(): void {
    this.#source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Destroyed before its end: the reader went away, so the backend's connection is closed. Over
    // first: the source's abort comes back at once as a failure, which is not one.
    const over = this.#over;
    this.#over = true;
    if (!over) this.#source.abandon();
    callback(error);
  }

  end(): void {
    this.#over = true;
    this.push(null);
  }

  fail(error: Error): void {
    this.#over = true;
    this.destroy(error);
  }
}

export const nodeFeed: FeedMaker<Readable> = (source) => new FedBody(source);

/**
 * A web stream fed by the upstream client: Deno's wire, and health probes on Node. The stream is
 * marked with its own end (`bodySettled.ts`), so in-flight counting needs no wrapper stream.
 */
export const webFeed: FeedMaker<ReadableStream<Uint8Array>> = (source) => {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  /** How the body ended (delivered, abandoned or failed); until then undefined. */
  let outcome: { error?: unknown } | undefined;
  const listeners: SettledListener[] = [];
  const settle = (error?: unknown) => {
    outcome = { error };
    for (const listener of listeners) listener(error);
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        source.resume();
      },
      cancel() {
        if (outcome) return;
        // Abandoned by the reader: not a failure of the source. Settled before the source is
        // aborted, because undici reports the abort straight back as a failure.
        settle();
        source.abandon();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: QUEUE_BYTES }),
  );
  markSettled(body, (listener) => (outcome ? listener(outcome.error) : listeners.push(listener)));

  return {
    body,
    push(chunk) {
      if (outcome) return true; // cancelled: the source is being aborted, the rest is dropped
      // A plain Uint8Array view: some readers of web streams refuse Node's Buffer subclass.
      controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      return (controller.desiredSize ?? 0) > 0;
    },
    end() {
      if (outcome) return;
      controller.close();
      settle();
    },
    fail(error) {
      if (outcome) return;
      controller.error(error);
      settle(error);
    },
  };
};
