import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Agent, errors } from 'undici';
import { FieldList } from '../core/http/FieldList.ts';
import { UpstreamError, type Upstream, type WebWire, type Wire } from '../core/proxy/Upstream.ts';
import { NULL_BODY_STATUSES } from '../core/proxy/toClientAnswer.ts';
import { toWebStream } from './nodeBody.ts';

/** undici's response body: a Node stream that can also throw itself away cheaply. */
type UndiciBody = Readable & { dump(): Promise<void> };

/**
 * The Node upstream client, on undici's `request` with keep-alive connection pools. Unlike Node's
 * `fetch` it sends the client's Host header, never decodes compressed bodies, and is several times
 * faster (RUNTIMES.md). Connect timeouts belong to a connection pool, so there is one agent per
 * distinct connect timeout.
 * @param toBody makes the wire's body of undici's response stream
 */
function undiciClient<W extends Wire>(toBody: (body: UndiciBody) => W['body']): Upstream<W> & { close(): Promise<void> } {
  const agents = new Map<number, Agent>();
  const agentFor = (connectTimeout: number) => {
    let agent = agents.get(connectTimeout);
    if (!agent) agents.set(connectTimeout, (agent = new Agent({ connect: { timeout: connectTimeout }, keepAliveTimeout: 4_000 })));
    return agent;
  };

  const upstream: Upstream<W> = async (request) => {
    let response;
    try {
      response = await agentFor(request.timeouts.connect).request({
        origin: request.origin,
        path: request.target,
        method: request.method,
        headers: request.headers instanceof FieldList ? request.headers.flat : FieldList.copyOf(request.headers).flat,
        // undici streams any async iterable, web ReadableStream included, though its types list only Readable.
        body: request.body as Readable | Uint8Array | null,
        signal: request.signal as AbortSignal | EventEmitter,
        headersTimeout: request.timeouts.responseHeaders,
        bodyTimeout: request.timeouts.bodyIdle,
      });
    } catch (error) {
      throw classify(error);
    }
    const { statusCode: status, body } = response;
    if (status < 200 || status > 599) {
      discardBody(body);
      throw new UpstreamError('failed', `unusable response status ${status}`);
    }
    const headers = new FieldList();
    for (const name in response.headers) {
      const value = response.headers[name];
      if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      else if (value !== undefined) headers.append(name, value);
    }
    if (NULL_BODY_STATUSES.has(status)) {
      // The connection is reused once the empty body is read.
      body.dump().catch(() => {});
      return { status, headers, body: null };
    }
    return { status, headers, body: wholeBody(body, response.headers['content-length']) ?? toBody(body) };
  };

  return Object.assign(upstream, {
    close: async () => {
      await Promise.all([...agents.values()].map((agent) => agent.close()));
    },
  });
}

/**
 * The body as bytes when all of it arrived with the headers (the common small response: undici
 * parses what one socket read brought, headers and body alike, before the request resolves).
 * Sending bytes saves a stream per response on every runtime.
 */
function wholeBody(body: UndiciBody, contentLength: string | string[] | undefined): Uint8Array | undefined {
  const length = Number(contentLength);
  if (!(length > 0) || body.readableLength !== length) return undefined;
  const bytes = body.read() as Buffer;
  // Read to its end, so the stream closes and undici lets the connection go back to the pool.
  body.on('error', () => {});
  body.resume();
  return bytes;
}

/** The undici client with web-stream bodies: Deno's upstream, and health probes on Node. */
export function undiciUpstream(): Upstream<WebWire> & { close(): Promise<void> } {
  return undiciClient<WebWire>((body) => toWebStream(body, classifyBodyError));
}

/** The undici client with undici's own body streams: Node's forwarding path (`NodeWire`). */
export function undiciNodeUpstream<W extends Wire & { body: Readable | Uint8Array }>(): Upstream<W> & { close(): Promise<void> } {
  return undiciClient<W>((body) => body);
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** Errors of a body already streaming: a stalled body is a timeout, the rest a failure. */
/** Throws a response body away, unread: undici reports a body destroyed before its end as an error, which must have a listener. */
export function discardBody(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

export function classifyBodyError(error: unknown): UpstreamError {
  if (error instanceof errors.BodyTimeoutError) return new UpstreamError('timeout', error.message, { cause: error });
  return new UpstreamError('failed', (error as Error)?.message ?? String(error), { cause: error });
}

function classify(error: unknown): UpstreamError {
  if (error instanceof errors.ConnectTimeoutError || error instanceof errors.HeadersTimeoutError) {
    return new UpstreamError('timeout', error.message, { cause: error });
  }
  const code = (error as { code?: string }).code;
  if (code && CONNECT_CODES.has(code)) return new UpstreamError('connect', `${code}: ${(error as Error).message}`, { cause: error });
  return new UpstreamError('failed', (error as Error)?.message ?? String(error), { cause: error });
}
