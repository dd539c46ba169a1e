import type { Context } from 'hono';
import { plainResponse } from '../responses.ts';
import { MAX_TIMER_MS } from './fetchUpstream.ts';
import type { UpstreamRequest } from './Upstream.ts';
import { webHeaders } from '../http/webHeaders.ts';

/**
 * Opens a WebSocket to a backend for the client's upgrade request and joins the two, returning the
 * response that completes the client's handshake. Each runtime does this its own way (Workers
 * returns the backend's 101 as is, Deno relays between two WebSocket objects, Node splices the
 * two TCP connections), so it is a capability the entry point passes in. `request.headers` keep
 * `Upgrade` and `Connection`, and every `Sec-WebSocket-*` field of the client.
 */
export type WebSocketUpstream = (request: UpstreamRequest, c: Context) => Promise<Response>;

/** Whether a GET's `Upgrade` field offers `websocket` (RFC 6455 section 4.1). */
export function offersWebSocket(method: string | undefined, upgrade: string | null | undefined): boolean {
  return method === 'GET' && /(^|,)\s*websocket\s*(,|$)/i.test(upgrade ?? '');
}

/** Whether a request asks to become a WebSocket: the offer, and `Connection: upgrade` (RFC 9110 section 7.8). */
export function isWebSocketUpgrade(request: Request): boolean {
  return offersWebSocket(request.method, request.headers.get('upgrade')) && /(^|,)\s*upgrade\s*(,|$)/i.test(request.headers.get('connection') ?? '');
}

/**
 * The WebSocket capability where `fetch` itself can upgrade (workerd: it answers 101 with the
 * backend's socket attached, and that response is returned as it is). Redirects are not followed;
 * no 101 within connect + response-headers time answers 504, a failed fetch 502.
 * @param fetchImpl looked up late by default, so tests can replace `globalThis.fetch`
 */
export function fetchWebSocket(fetchImpl: typeof fetch = (input, init) => globalThis.fetch(input, init)): WebSocketUpstream {
  return async (request) => {
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), Math.min(request.timeouts.connect + request.timeouts.responseHeaders, MAX_TIMER_MS));
    try {
      return await fetchImpl(request.origin + request.target, { headers: webHeaders(request.headers), redirect: 'manual', signal: timer.signal });
    } catch {
      return timer.signal.aborted ? plainResponse(504, 'Gateway Timeout') : plainResponse(502, 'Bad Gateway');
    } finally {
      clearTimeout(timeout);
    }
  };
}
