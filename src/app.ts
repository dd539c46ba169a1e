import { Hono, type Context } from 'hono';
import type { CompiledConfig } from './core/config/compileConfig.ts';
import { normalizePath } from './core/path/normalizePath.ts';
import { addForwardingHeaders } from './core/proxy/forwardingHeaders.ts';
import { fetchUpstream } from './core/proxy/fetchUpstream.ts';
import { forward, type OutgoingRequest } from './core/proxy/forward.ts';
import { removeHopByHop } from './core/proxy/hopByHop.ts';
import { splitTarget } from './core/proxy/splitTarget.ts';
import type { Upstream } from './core/proxy/Upstream.ts';
import { isWebSocketUpgrade, type WebSocketUpstream } from './core/proxy/webSocket.ts';
import { badRequest, noHealthyBackend, notFound, plainResponse } from './core/responses.ts';
import type { Exchange } from './core/Route.ts';

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
   * Proxies WebSocket upgrades, where the runtime can. Without it an upgrade request is forwarded
   * as a plain GET (the backend then answers it as HTTP). @default none
   */
  readonly webSocket?: WebSocketUpstream;
  /** Where the balancer's own problems are reported. @default console.error */
  readonly log?: (line: string) => void;
}

/**
 * Builds the load balancer as a Hono app. Every request is normalised, routed, guarded,
 * rewritten and forwarded; see the README for the order.
 * @example
 * const app = createApp({ config: loadConfig(text, 'lb.yaml') });
 * export default app;
 */
export function createApp(options: AppOptions): Hono {
  const { routes } = options.config;
  const upstream = options.upstream ?? fetchUpstream();
  const clientAddress = options.clientAddress ?? (() => undefined);
  const requestTarget = options.requestTarget ?? (() => undefined);
  const log = options.log ?? ((line: string) => console.error(line));

  const app = new Hono();

  app.all('*', async (c) => {
    const request = c.req.raw;
    const target = splitTarget(requestTarget(c) ?? request.url);
    const path = normalizePath(target.path);
    if (path === undefined) return badRequest('the path cannot be normalised safely');

    const host = request.headers.get('host') ?? undefined;
    const route = routes.match(host, path);
    if (!route) return notFound();

    // The peer is who connected; the client is who trusted proxies say sent it (trusted_proxies).
    const peer = clientAddress(c);
    const exchange: Exchange = { request, clientAddress: options.config.clientAddress?.(peer, request.headers) ?? peer, host, path, query: target.query, route };
    for (const guard of route.guards) {
      const refusal = guard(exchange);
      if (refusal) return refusal;
    }

    const headers = new Headers(request.headers);
    removeHopByHop(headers);
    // The expectation is met on this hop (Node answers 100 Continue itself, RFC 9110 section
    // 10.1.1); undici refuses to send the field at all.
    headers.delete('expect');
    addForwardingHeaders(headers, {
      address: peer,
      protocol: request.url.startsWith('https:') ? 'https' : 'http',
      host,
    });
    const outgoing: OutgoingRequest = { method: request.method, path, query: target.query, headers, body: requestBody(request) };
    for (const rewrite of route.requestRewrites) rewrite(exchange, outgoing);
    const pick = { clientAddress: exchange.clientAddress, headers: request.headers };

    if (options.webSocket && isWebSocketUpgrade(request)) {
      // The one upgrade a balancer joins end to end: the hop-by-hop pair goes on to the backend.
      headers.set('connection', 'upgrade');
      headers.set('upgrade', 'websocket');
      const backend = route.pool.pick(pick);
      if (!backend) return noHealthyBackend(route.name);
      return options.webSocket({ origin: backend.origin, target: backend.basePath + outgoing.path + outgoing.query, method: 'GET', headers, body: null, signal: request.signal, timeouts: route.timeouts }, c);
    }

    const response = await forward(route.pool, outgoing, {
      upstream,
      timeouts: route.timeouts,
      signal: request.signal,
      routeName: route.name,
      pick,
    });
    for (const rewrite of route.responseRewrites) rewrite(exchange, response.headers);
    return response;
  });

  app.onError((error) => {
    log(`switchyard: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return plainResponse(500, 'Internal Server Error');
  });

  return app;
}

/** The body to forward: none for a GET or HEAD that announces none, without touching the stream. */
function requestBody(request: Request): ReadableStream<Uint8Array> | null {
  if ((request.method === 'GET' || request.method === 'HEAD') && !request.headers.has('content-length') && !request.headers.has('transfer-encoding')) {
    return null;
  }
  return request.body;
}
