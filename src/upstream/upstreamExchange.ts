import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { FieldList } from '../core/http/FieldList.ts';
import type { UpstreamResponse, Wire } from '../core/Upstream.ts';
import { UpstreamError } from '../core/UpstreamError.ts';
import { NULL_BODY_STATUSES } from '../core/proxy/toAnswer.ts';
import type { BodyFeed, FeedMaker } from './bodyFeeds.ts';
import { classifyBodyError, classifyUpstreamError } from './upstreamErrors.ts';

/** A client-gone signal as either wire has it: an `AbortSignal`, or Node's plain emitter. */
type ClientGoneSignal = Wire['signal'] & (Pick<AbortSignal, 'addEventListener'> | Pick<EventEmitter, 'once'>);

/**
 * One request to a backend, as an undici dispatch handler. It resolves with the response once the
 * headers are in; a body that arrived whole in the same socket read (the common small response:
 * undici parses all it read before anything else runs) is handed over as bytes, any other is fed
 * into the wire's own stream as it arrives, with the backend paused while the reader is full.
 * Compared with undici's `request()`, this saves a body stream, a promise and an abort listener
 * per request (docs/performance.md).
 */
export class UpstreamExchange<B> implements Dispatcher.DispatchHandler {
  readonly #feedFor: FeedMaker<B>;
  readonly #resolve: (response: UpstreamResponse<Wire & { body: B | Uint8Array }>) => void;
  readonly #reject: (error: UpstreamError) => void;
  #controller: Dispatcher.DispatchController | undefined;
  /** Settled: resolved or rejected; nothing more is told to the caller but through the body. */
  #settled = false;
  /** The client went away before the request was on a connection: it is aborted once it is. */
  #clientGone = false;
  #status = 0;
  #headers: FieldList | undefined;
  /** Chunks that arrived before the hand-over; undefined once they went to the feed or are dropped. */
  #chunks: Buffer[] | undefined = [];
  #feed: BodyFeed<B> | undefined;
  /** A HEAD's response has no body, whatever its headers say. */
  readonly #bodiless: boolean;
  #complete = false;
  #bodyError: UpstreamError | undefined;
  /** The backend's trailers (a chunked body's), once the body has ended. */
  #trailers: FieldList | undefined;

  constructor(options: {
    feedFor: FeedMaker<B>;
    method: string;
    signal: Wire['signal'];
    resolve: (response: UpstreamResponse<Wire & { body: B | Uint8Array }>) => void;
    reject: (error: UpstreamError) => void;
  }) {
    this.#feedFor = options.feedFor;
    this.#resolve = options.resolve;
    this.#reject = options.reject;
    this.#bodiless = options.method === 'HEAD';
    const signal = options.signal as ClientGoneSignal;
    if (signal.aborted) this.#onClientGone();
    else if ('addEventListener' in signal) signal.addEventListener('abort', () => this.#onClientGone(), { once: true });
    else signal.once('abort', () => this.#onClientGone());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new errors.RequestAbortedError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return; // informational: undici reads on to the final response
    if (status > 599) {
      this.#fail(new UpstreamError('failed', `unusable response status ${status}`));
      controller.abort(new errors.ResponseError(`unusable response status ${status}`, status, {}));
      return;
    }
    this.#status = status;
    const fields = new FieldList();
    for (const name in headers) {
      const value = headers[name];
      if (Array.isArray(value)) for (const item of value) fields.append(name, item);
      else if (value !== undefined) fields.append(name, value);
    }
    this.#headers = fields;
    if (this.#bodiless || NULL_BODY_STATUSES.has(status)) this.#chunks = undefined;
    // After undici has parsed everything this socket read brought: by then a small body is whole.
    queueMicrotask(() => this.#handOver());
  }

  /**
   * undici hands over the connection itself when the backend switches protocols, and always for
   * CONNECT. Nothing here asked for either (WebSocket upgrades take another path): the connection
   * is closed and the exchange fails, rather than left open and unanswered.
   */
  onRequestUpgrade(_controller: Dispatcher.DispatchController, status: number, _headers: unknown, socket: Duplex): void {
    socket.destroy();
    this.#fail(new UpstreamError('failed', `the backend switched protocols (status ${status}) where no upgrade was asked for`));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#feed) {
      if (!this.#feed.push(chunk)) controller.pause();
    } else {
      this.#chunks?.push(chunk);
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    for (const name in trailers) {
      const value = trailers[name];
      if (value === undefined) continue;
      this.#trailers ??= new FieldList();
      for (const item of Array.isArray(value) ? value : [value]) this.#trailers.append(name, item);
    }
    this.#complete = true;
    this.#feed?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (!this.#status) return this.#fail(classifyUpstreamError(error));
    const failure = classifyBodyError(error);
    if (this.#feed) this.#feed.fail(failure);
    else this.#bodyError = failure; // between the headers and the hand-over: the body will fail
  }

  #handOver(): void {
    if (this.#settled) return;
    this.#settled = true;
    const status = this.#status;
    const headers = this.#headers!;
    const chunks = this.#chunks;
    this.#chunks = undefined;
    const trailers = () => this.#trailers;
    if (!chunks) return this.#resolve({ status, headers, body: null });
    if (this.#complete) return this.#resolve({ status, headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), trailers });

    const feed = this.#feedFor({
      resume: () => this.#controller?.resume(),
      abandon: () => this.#controller?.abort(new errors.RequestAbortedError()),
    });
    this.#feed = feed;
    let full = false;
    for (const chunk of chunks) full = !feed.push(chunk);
    if (this.#bodyError) feed.fail(this.#bodyError);
    else if (full) this.#controller?.pause();
    this.#resolve({ status, headers, body: feed.body, trailers });
  }

  #fail(error: UpstreamError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }

  #onClientGone(): void {
    this.#clientGone = true;
    const reason = new errors.RequestAbortedError();
    this.#fail(classifyUpstreamError(reason));
    this.#controller?.abort(reason);
  }
}
