import { Hono, type Context } from 'hono';
import type { CompiledConfig } from './core/config/compileConfig.ts';
import { ErrorLog, type LogTimers } from './core/ErrorLog.ts';
import { admit, forwardAdmitted, isAdmitted } from './core/proxy/admit.ts';
import { fetchUpstream } from './core/proxy/fetchUpstream.ts';
import type { Background, BodyCompression, Upstream, WebWire } from './core/Upstream.ts';
import { webBodies } from './core/proxy/webBodies.ts';
import { isWebSocketUpgrade } from './core/proxy/webSocket.ts';
import * as answers from './core/answers.ts';
import { toResponse } from './core/toResponse.ts';
import { RequestRecord, type RequestObserver } from './core/observe/RequestRecord.ts';

/** What a runtime entry point hands the app: everything the core may not import itself. */
export interface AppOptions {
  readonly config: CompiledConfig;
  /** Sends requests to backends. @default fetchUpstream(), the runtime's `fetch` */
  readonly upstream?: Upstream;
  /** The address of the client's connection, as the runtime tells it. @default none known */
  readonly clientAddress?: (c: Context) => string | undefined;
  /**
   * The request-target exactly as it arrived (`/path?query`), where the runtime keeps it, so the
   * query is forwarded byte for byte. @default the request URL, as the runtime serialised it
   */
  readonly requestTarget?: (c: Context) => string | undefined;
  /**
   * The upstream client for WebSocket upgrades, where the runtime can proxy them (`fetchWebSocket`
   * on workerd). Without it an upgrade request is forwarded as a plain GET (the backend then
   * answers it as HTTP). @default none
   */
  readonly webSocket?: Upstream;
  /** Where the balancer's own problems are reported: a line for each 5xx it answers itself. @default console.error */
  readonly log?: (line: string) => void;
  /** The clock the error log counts its lines per second by, in milliseconds. @default Date.now */
  readonly now?: () => number;
  /** The timers that end the error log's windows. @default globalThis.setTimeout and clearTimeout */
  readonly timers?: LogTimers;
  /** Told of every request once its response body has been sent (the access log). @default none */
  readonly observe?: RequestObserver;
  /**
   * How response bodies are compressed (`compress`): `runtimeEncodedCompression` where the runtime
   * encodes a body by its Content-Encoding itself (workerd). @default webCompression, `CompressionStream`
   */
  readonly compression?: BodyCompression<WebWire>;
  /**
   * The client's Accept-Encoding where the runtime replaced the header with its own (workerd);
   * empty when the client sent none. It replaces the header for `compress` and the backend alike.
   * @default the header as it arrived
   */
  readonly clientAcceptEncoding?: (c: Context) => string | undefined;
}

/**
 * Builds the load balancer as a Hono app. Every request is normalised, routed, guarded,
 * rewritten and forwarded; see the README for the order.
 * @example
 * const app = createApp({ config: loadConfig(text, 'lb.yaml') });
 * export default app;
 */
export function createApp(options: AppOptions): Hono {
  const upstream = options.upstream ?? fetchUpstream();
  const clientAddress = options.clientAddress ?? (() => undefined);
  const requestTarget = options.requestTarget ?? (() => undefined);
  const log = options.log ?? ((line: string) => console.error(line));
  const errorLog = new ErrorLog(log, { now: options.now, timers: options.timers });
  const bodies = options.compression ? { ...webBodies, compression: options.compression } : webBodies;

  const app = new Hono();

  const { observe } = options;
  const answer = (record: RequestRecord, response: Response) => (observe ? observed(response, record, observe) : response);

  app.all('*', async (c) => {
    const request = c.req.raw;
    const record = new RequestRecord();
    const admitted = admit<WebWire>(
      options.config,
      {
        method: request.method,
        target: requestTarget(c) ?? request.url,
        headers: options.clientAcceptEncoding ? withAcceptEncoding(request.headers, options.clientAcceptEncoding(c)) : request.headers,
        scheme: request.url.startsWith('https:') ? 'https' : 'http',
        peer: clientAddress(c),
        body: requestBody(request),
      },
      record,
    );
    if (!isAdmitted(admitted)) return answer(record, toResponse(admitted));

    // The one upgrade a balancer joins end to end: the hop-by-hop pair goes on to the backend, and
    // the upgrade takes the same forward path as any request, with the upgrading client.
    const upgrade = options.webSocket && isWebSocketUpgrade(request);
    if (upgrade) {
      admitted.outgoing.headers.set('connection', 'upgrade');
      admitted.outgoing.headers.set('upgrade', 'websocket');
    }
    // Upgrades are not mirrored: a copy of a WebSocket handshake would open a second tunnel.
    const background = upgrade ? undefined : backgroundOf(c);
    const transport = { upstream: upgrade ? options.webSocket! : upstream, subrequest: upstream, bodies, signal: request.signal, errorLog, background };
    return answer(record, toResponse(await forwardAdmitted(admitted, transport)));
  });

  app.onError((error, c) => {
    errorLog.internalError({ method: c.req.method, path: c.req.path }, error);
    return toResponse(answers.internalServerError());
  });

  return app;
}

/**
 * Tells `observe` of the request once its response is done: at once for a response without a
 * body, else when the body has been read to its end (or cancelled, the client gone), counting
 * its bytes on the way.
 */
function observed(response: Response, record: RequestRecord, observe: RequestObserver): Response {
  // A WebSocket's 101 (workerd) carries the socket, not a body: logged as answered. A HEAD's
  // answer is sent without its body (Hono drops it unread), so there is nothing to wait for.
  if (response.body === null || response.status === 101 || record.method === 'HEAD') {
    record.finish(response.status);
    observe(record);
    return response;
  }
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        record.bytesSent += chunk.byteLength;
        controller.enqueue(chunk);
      },
      flush() {
        record.finish(response.status);
        observe(record);
      },
      // Where the runtime tells a transformer of a cancelled body: the client went away mid-way.
      cancel() {
        record.error ??= 'the response was cut off before its end';
        record.finish(response.status);
        observe(record);
      },
    } as Transformer<Uint8Array, Uint8Array>),
  );
  return new Response(counted, response);
}

/**
 * Work that outlives the response: on Workers it must be handed to `waitUntil`, or the isolate may
 * be stopped with it half done; elsewhere (no execution context) it simply runs.
 */
function backgroundOf(c: Context): Background<WebWire> {
  return {
    detachedSignal: () => new AbortController().signal,
    run(task) {
      let context: { waitUntil(task: Promise<unknown>): void } | undefined;
      try {
        context = c.executionCtx;
      } catch {
        // Hono throws when the runtime gave no execution context.
      }
      context?.waitUntil(task);
    },
  };
}

/** The body to forward: none for a GET or HEAD that announces none, without touching the stream. */
function requestBody(request: Request): ReadableStream<Uint8Array> | null {
  if ((request.method === 'GET' || request.method === 'HEAD') && !request.headers.has('content-length') && !request.headers.has('transfer-encoding')) {
    return null;
  }
  return request.body;
}

/** The request's headers with the client's own Accept-Encoding (none when it is empty); the same headers when unknown. */
function withAcceptEncoding(headers: Headers, acceptEncoding: string | undefined): Headers {
  if (acceptEncoding === undefined || headers.get('accept-encoding') === acceptEncoding) return headers;
  const copy = new Headers(headers);
  if (acceptEncoding === '') copy.delete('accept-encoding');
  else copy.set('accept-encoding', acceptEncoding);
  return copy;
}
