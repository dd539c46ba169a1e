import type { EventEmitter } from 'node:events';
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { Readable } from 'node:stream';
import { FieldList } from '../core/http/FieldList.ts';
import type { UpstreamRequest, UpstreamResponse, Wire } from '../core/Upstream.ts';
import { UpstreamError, upstreamErrorOf } from '../core/UpstreamError.ts';
import { NULL_BODY_STATUSES } from '../core/proxy/toAnswer.ts';
import type { BodyFeed, FeedMaker } from './bodyFeeds.ts';
import type { Http2Sessions } from './Http2Sessions.ts';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = constants;

/** Fields HTTP/2 forbids in a request (RFC 9113 section 8.2.2); `te` is sent as `trailers` alone. */
const NOT_IN_HTTP2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te', 'host']);

type ClientGoneSignal = Wire['signal'] & (Pick<AbortSignal, 'addEventListener' | 'removeEventListener'> | Pick<EventEmitter, 'once' | 'off'>);

/**
 * Sends one request to an HTTP/2 backend (`protocol: http2` or `h2c`) on a shared session, and
 * resolves with its response once the headers are in, the body streaming into the wire's own
 * stream with the backend's flow control as backpressure, the trailers read once it has ended.
 * The client's Host is sent as `:authority`, and `te: trailers` always (the balancer takes
 * trailers, gRPC servers ask for it). Timeouts: `responseHeaders` runs once the request body has
 * been sent (a client-streaming call uploads for as long as it likes), `bodyIdle` between two
 * chunks of the response while the reader wants more. A client that goes away resets the stream
 * with CANCEL, which the backend sees as a cancelled call.
 */
export async function http2Exchange<W extends Wire>(sessions: Http2Sessions, request: UpstreamRequest<W>, feedFor: FeedMaker<W['body']>): Promise<UpstreamResponse<W>> {
  const signal = request.signal as ClientGoneSignal;
  if (signal.aborted) throw new UpstreamError('failed', 'the client went away');
  const { session, release } = await sessions.open(request.origin, request.timeouts.connect, request.tls);
  if (signal.aborted) {
    release();
    throw new UpstreamError('failed', 'the client went away');
  }

  const headers: OutgoingHttpHeaders = { ':method': request.method, ':path': request.target };
  const host = request.headers.get('host');
  if (host) headers[':authority'] = host;
  request.headers.forEach((value, name) => {
    if (NOT_IN_HTTP2.has(name)) return;
    const before = headers[name];
    headers[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [String(before)]), value];
  });
  headers.te = 'trailers';

  let stream: ClientHttp2Stream;
  try {
    stream = session.request(headers, { endStream: request.body === null });
  } catch (error) {
    // The session closed between being handed out and used (GOAWAY): nothing was sent.
    release();
    const failure = upstreamErrorOf(error);
    throw failure.failure === 'failed' && !(error as { code?: string }).code?.startsWith('ERR_HTTP2_INVALID_') ? new UpstreamError('connect', failure.message, { cause: error }) : failure;
  }
  return new Promise<UpstreamResponse<W>>((resolve, reject) => new Http2Exchange(stream, request, feedFor, release, resolve, reject));
}

class Http2Exchange<W extends Wire> {
  readonly #stream: ClientHttp2Stream;
  readonly #timeouts: UpstreamRequest<W>['timeouts'];
  readonly #reject: (error: UpstreamError) => void;
  #settled = false;
  #feed: BodyFeed<W['body']> | undefined;
  #trailers: FieldList | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #paused = false;

  constructor(
    stream: ClientHttp2Stream,
    request: UpstreamRequest<W>,
    feedFor: FeedMaker<W['body']>,
    release: () => void,
    resolve: (response: UpstreamResponse<W>) => void,
    reject: (error: UpstreamError) => void,
  ) {
    this.#stream = stream;
    this.#timeouts = request.timeouts;
    this.#reject = reject;
    const signal = request.signal as ClientGoneSignal;
    const onClientGone = () => this.#cancel(new UpstreamError('failed', 'the client went away'));
    if ('addEventListener' in signal) signal.addEventListener('abort', onClientGone, { once: true });
    else signal.once('abort', onClientGone);

    stream.once('response', (fields: IncomingHttpHeaders, flags: number) => {
      this.#clearTimer();
      const status = Number(fields[':status']);
      if (!(status >= 200 && status <= 599)) return this.#cancel(new UpstreamError('failed', `unusable response status ${fields[':status']}`));
      const headers = new FieldList();
      for (const name in fields) {
        const value = fields[name];
        if (name.startsWith(':') || value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) headers.append(name, String(item));
      }
      this.#settled = true;
      const trailers = () => this.#trailers;
      // Headers that end the stream: no body (a gRPC error sent trailers-only, a 204, a HEAD's).
      if (flags & NGHTTP2_FLAG_END_STREAM || request.method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
        stream.resume();
        return resolve({ status, headers, body: null, trailers });
      }
      const feed = feedFor({
        resume: () => {
          this.#paused = false;
          stream.resume();
          this.#idleTimer();
        },
        abandon: () => this.#cancel(),
      });
      this.#feed = feed;
      stream.on('data', (chunk: Buffer) => {
        this.#idleTimer();
        if (!feed.push(chunk)) {
          this.#paused = true;
          this.#clearTimer();
          stream.pause();
        }
      });
      stream.once('end', () => {
        this.#clearTimer();
        feed.end();
      });
      this.#idleTimer();
      resolve({ status, headers, body: feed.body, trailers });
    });
    stream.once('trailers', (fields: IncomingHttpHeaders) => {
      const trailers = new FieldList();
      for (const name in fields) {
        const value = fields[name];
        if (value !== undefined) for (const item of Array.isArray(value) ? value : [value]) trailers.append(name, String(item));
      }
      this.#trailers = trailers;
    });
    // Errors come back as the stream's close code; the 'error' event only needs a listener.
    stream.on('error', () => {});
    stream.once('close', () => {
      this.#clearTimer();
      release();
      if ('removeEventListener' in signal) signal.removeEventListener('abort', onClientGone);
      else signal.off('abort', onClientGone);
      const code = stream.rstCode ?? NGHTTP2_NO_ERROR;
      if (!this.#settled) {
        this.#settled = true;
        // Refused: the backend did not process it (RFC 9113 section 8.7), so it is safe to send again.
        if (code === NGHTTP2_REFUSED_STREAM) return reject(new UpstreamError('connect', 'the backend refused the HTTP/2 stream (REFUSED_STREAM)'));
        return reject(new UpstreamError('failed', code === NGHTTP2_NO_ERROR ? 'the backend closed the HTTP/2 stream without a response' : `the backend reset the HTTP/2 stream (code ${code})`));
      }
      if (this.#feed && !stream.readableEnded) this.#feed.fail(new UpstreamError('failed', `the backend reset the HTTP/2 stream mid-body (code ${code})`));
    });

    this.#send(request.body);
  }

  /** Sends the request body; the response headers' time limit starts once it is all sent. */
  #send(body: W['body'] | null): void {
    const stream = this.#stream;
    const waitForHeaders = () => {
      if (!this.#settled) this.#timer = setTimeout(() => this.#cancel(new UpstreamError('timeout', `no response headers within ${this.#timeouts.responseHeaders} ms`)), this.#timeouts.responseHeaders);
    };
    if (body === null) return waitForHeaders();
    stream.once('finish', waitForHeaders);
    if (body instanceof Uint8Array) return void stream.end(body);
    const source = body instanceof ReadableStream ? Readable.fromWeb(body as import('node:stream/web').ReadableStream) : (body as Readable);
    // The client's upload breaking off cancels the call; the backend's stream closing first
    // unpipes it, leaving the client's request unread rather than destroyed.
    const brokeOff = () => this.#cancel(new UpstreamError('failed', 'the request body broke off'));
    // It may have broken off while the session was opened (cut off at max_request_body, the
    // client gone): its error was told then, and would never come again.
    if (source.readableAborted) return brokeOff();
    source.once('error', brokeOff);
    source.pipe(stream);
  }

  #idleTimer(): void {
    this.#clearTimer();
    if (this.#paused || this.#stream.readableEnded) return;
    this.#timer = setTimeout(() => this.#cancel(new UpstreamError('timeout', `the response body was idle for ${this.#timeouts.bodyIdle} ms`)), this.#timeouts.bodyIdle);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Resets the stream with CANCEL; the error is the caller's (before the headers) or the body's. */
  #cancel(error?: UpstreamError): void {
    this.#clearTimer();
    if (error && !this.#settled) {
      this.#settled = true;
      this.#reject(error);
    } else if (error) {
      this.#feed?.fail(error);
    }
    if (!this.#stream.closed) this.#stream.close(NGHTTP2_CANCEL);
  }
}
