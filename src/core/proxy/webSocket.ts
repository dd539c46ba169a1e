import { MAX_TIMER_MS } from '../timers.ts';
import type { Upstream, UpstreamRequest } from '../Upstream.ts';
import { UpstreamError, upstreamErrorOf } from '../UpstreamError.ts';
import { webHeaders } from '../http/webHeaders.ts';

/** Whether a GET's `Upgrade` field offers `websocket` (RFC 6455 section 4.1). */
export function offersWebSocket(method: string | undefined, upgrade: string | null | undefined): boolean {
  return method === 'GET' && /(^|,)\s*websocket\s*(,|$)/i.test(upgrade ?? '');
}

/** Whether a request asks to become a WebSocket: the offer, and `Connection: upgrade` (RFC 9110 section 7.8). */
export function isWebSocketUpgrade(request: Request): boolean {
  return offersWebSocket(request.method, request.headers.get('upgrade')) && /(^|,)\s*upgrade\s*(,|$)/i.test(request.headers.get('connection') ?? '');
}

/**
 * The upstream client for WebSocket upgrades where `fetch` itself can upgrade (workerd: it answers
 * 101 with the backend's socket attached). The 101 comes back with that `Response` as its
 * `tunnel`, for the app to return; any other answer as a response like any other. Redirects are
 * not followed; no answer within connect + response-headers time rejects as a timeout (504), a
 * failed fetch as a failure (502), so the forward loop retries and records them.
 * @param fetchImpl looked up late by default, so tests can replace `globalThis.fetch`
 */
export function fetchWebSocket(fetchImpl: typeof fetch = (input, init) => globalThis.fetch(input, init)): Upstream {
  return async (request: UpstreamRequest) => {
    const timer = new AbortController();
    const limit = Math.min(request.timeouts.connect + request.timeouts.responseHeaders, MAX_TIMER_MS);
    const timeout = setTimeout(() => timer.abort(), limit);
    let response: Response;
    try {
      response = await fetchImpl(request.origin + request.target, { headers: webHeaders(request.headers), redirect: 'manual', signal: timer.signal });
    } catch (error) {
      throw timer.signal.aborted ? new UpstreamError('timeout', `no handshake answer within ${limit} ms`) : upstreamErrorOf(error);
    } finally {
      clearTimeout(timeout);
    }
    const headers = new Headers(response.headers);
    if (response.status === 101) return { status: 101, headers, body: null, tunnel: response };
    return { status: response.status, headers, body: response.body };
  };
}
