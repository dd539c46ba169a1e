import type { Context } from 'hono';
import type { UpstreamRequest } from './Upstream.ts';

/**
 * Opens a WebSocket to a backend for the client's upgrade request and joins the two, returning the
 * response that completes the client's handshake. Each runtime does this its own way (Workers
 * returns the backend's 101 as is, Deno relays between two WebSocket objects, Node splices the
 * two TCP connections), so it is a capability the entry point passes in. `request.headers` keep
 * `Upgrade` and `Connection`, and every `Sec-WebSocket-*` field of the client.
 */
export type WebSocketUpstream = (request: UpstreamRequest, c: Context) => Promise<Response>;

/** Whether a request asks to become a WebSocket (RFC 6455 section 4.1; RFC 9110 section 7.8). */
export function isWebSocketUpgrade(request: Request): boolean {
  if (request.method !== 'GET') return false;
  const upgrade = request.headers.get('upgrade');
  if (!upgrade || !/(^|,)\s*websocket\s*(,|$)/i.test(upgrade)) return false;
  return /(^|,)\s*upgrade\s*(,|$)/i.test(request.headers.get('connection') ?? '');
}
