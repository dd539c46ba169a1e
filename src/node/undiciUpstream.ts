import type { Readable } from 'node:stream';
import { Agent, errors } from 'undici';
import { UpstreamError, type Upstream, type UpstreamRequest } from '../core/proxy/Upstream.ts';
import { proxiedResponse } from '../core/proxy/proxiedResponse.ts';
import { NULL_BODY_STATUSES } from '../core/proxy/toClientResponse.ts';
import { toWebStream } from './nodeBody.ts';

/**
 * The Node upstream client, on undici's `request` with keep-alive connection pools. Unlike Node's
 * `fetch` it sends the client's Host header, never decodes compressed bodies, and is several times
 * faster (RUNTIMES.md). Connect timeouts belong to a connection pool, so there is one agent per
 * distinct connect timeout.
 */
export function undiciUpstream(): Upstream & { close(): Promise<void> } {
  const agents = new Map<number, Agent>();
  const agentFor = (connectTimeout: number) => {
    let agent = agents.get(connectTimeout);
    if (!agent) agents.set(connectTimeout, (agent = new Agent({ connect: { timeout: connectTimeout }, keepAliveTimeout: 4_000 })));
    return agent;
  };

  const upstream = async (request: UpstreamRequest): Promise<Response> => {
    let response;
    try {
      response = await agentFor(request.timeouts.connect).request({
        origin: request.origin,
        path: request.target,
        method: request.method,
        headers: toHeaderList(request.headers),
        // undici streams any async iterable, web ReadableStream included, though its types list only Readable.
        body: request.body as unknown as Readable | null,
        signal: request.signal,
        headersTimeout: request.timeouts.responseHeaders,
        bodyTimeout: request.timeouts.bodyIdle,
      });
    } catch (error) {
      throw classify(error);
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      else if (value !== undefined) headers.append(name, value);
    }
    try {
      if (NULL_BODY_STATUSES.has(response.statusCode)) {
        // Response refuses a body with these statuses; the connection is reused once the empty body is read.
        response.body.dump().catch(() => {});
        return proxiedResponse(null, { status: response.statusCode, headers });
      }
      return proxiedResponse(toWebStream(response.body, classifyBodyError), { status: response.statusCode, headers });
    } catch (error) {
      response.body.destroy();
      throw new UpstreamError('failed', `unusable response status ${response.statusCode}`, { cause: error });
    }
  };

  return Object.assign(upstream, {
    close: async () => {
      await Promise.all([...agents.values()].map((agent) => agent.close()));
    },
  });
}

/** undici takes headers as a flat [name, value, ...] list, which keeps repeated fields apart. */
function toHeaderList(headers: Headers): string[] {
  const list: string[] = [];
  headers.forEach((value, name) => list.push(name, value));
  return list;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** Errors of a body already streaming: a stalled body is a timeout, the rest a failure. */
function classifyBodyError(error: unknown): UpstreamError {
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
