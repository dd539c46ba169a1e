import type { Readable } from 'node:stream';
import { FieldList } from '../core/http/FieldList.ts';
import type { Upstream, UpstreamResponse, WebWire, Wire } from '../core/Upstream.ts';
import { nodeFeed, webFeed, type FeedMaker } from './bodyFeeds.ts';
import { http2Exchange } from './http2Upstream.ts';
import { Http2Sessions } from './Http2Sessions.ts';
import { classifyUpstreamError } from './upstreamErrors.ts';
import { UpstreamAgents } from './UpstreamAgents.ts';
import { UpstreamExchange } from './upstreamExchange.ts';

/**
 * The Node upstream client, on undici's `dispatch` with keep-alive connection pools. Unlike Node's
 * `fetch` it sends the client's Host header, never decodes compressed bodies, and is several times
 * faster (docs/runtimes.md); `dispatch` rather than `request()` fills the wire's own body stream
 * (`UpstreamExchange`). Connect timeouts and TLS settings belong to a connection pool, so there is
 * one agent per distinct connect timeout and TLS settings (`UpstreamAgents`). Connections drop
 * unsolicited `100 Continue` heads, which undici 7 would fail on (`connectDroppingContinue`).
 * Backends spoken to over HTTP/2 (`protocol: http2 | h2c`) go through `node:http2` sessions
 * instead (`http2Exchange`): undici 7 has no cleartext HTTP/2, and its `allowH2` would fall back to
 * HTTP/1.1 where the backend's ALPN does.
 * @param feedFor makes the wire's kind of body stream, for bodies that do not arrive whole at once
 */
function undiciClient<W extends Wire>(feedFor: FeedMaker<W['body']>): Upstream<W> & { close(): Promise<void> } {
  const agents = new UpstreamAgents();
  const sessions = new Http2Sessions();

  const http1: Upstream<W> = (request) =>
    new Promise<UpstreamResponse<W>>((resolve, reject) => {
      const exchange = new UpstreamExchange<W['body']>({
        feedFor,
        method: request.method,
        signal: request.signal,
        // Bytes are every wire's body too (`Wire`): a whole body is handed over as bytes.
        resolve: resolve as (response: UpstreamResponse<Wire & { body: W['body'] | Uint8Array }>) => void,
        reject,
      });
      try {
        agents.for(request.timeouts.connect, request.tls).dispatch(
          {
            origin: request.origin,
            // undici would take the name from the Host header and open a new connection whenever it
            // changes; a backend's connections keep its one name (the agent sends and checks it).
            ...(request.tls && { servername: request.tls.servername }),
            path: request.target,
            method: request.method,
            headers: request.headers instanceof FieldList ? request.headers.flat : FieldList.copyOf(request.headers).flat,
            // undici streams any async iterable, web ReadableStream included, though its types list only Readable.
            body: request.body as Readable | Uint8Array | null,
            headersTimeout: request.timeouts.responseHeaders,
            bodyTimeout: request.timeouts.bodyIdle,
          },
          exchange,
        );
      } catch (error) {
        // Options undici refuses outright (a header value it will not send).
        reject(classifyUpstreamError(error));
      }
    });

  const upstream: Upstream<W> = (request) => (request.protocol === 'http2' || request.protocol === 'h2c' ? http2Exchange(sessions, request, feedFor) : http1(request));
  return Object.assign(upstream, { close: async () => void (await Promise.all([agents.close(), sessions.close()])) });
}

/** The undici client with web-stream bodies: Deno's upstream, and health probes on Node. */
export function undiciUpstream(): Upstream<WebWire> & { close(): Promise<void> } {
  return undiciClient<WebWire>(webFeed);
}

/** The undici client with Node stream bodies: Node's forwarding path (`NodeWire`). */
export function undiciNodeUpstream<W extends Wire & { body: Readable | Uint8Array }>(): Upstream<W> & { close(): Promise<void> } {
  return undiciClient<W>(nodeFeed as FeedMaker<W['body']>);
}
