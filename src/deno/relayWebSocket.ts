import type { Context } from 'hono';
import type { UpstreamRequest } from '../core/proxy/Upstream.ts';
import { plainResponse } from '../core/responses.ts';

/**
 * Deno's WebSocket capability. Deno's fetch cannot upgrade, so the balancer completes the client's
 * handshake itself (`Deno.upgradeWebSocket`), opens a WebSocket to the backend with the client's
 * subprotocols, and relays messages both ways; a close on either side closes the other. Deno's
 * WebSocket client sends no custom headers: the backend sees its own Host and no X-Forwarded-*.
 */
export async function relayWebSocket(request: UpstreamRequest, c: Context): Promise<Response> {
  const protocols = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const backend = new WebSocket(request.origin.replace(/^http/, 'ws') + request.target, protocols);
  backend.binaryType = 'arraybuffer';
  const opened = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), request.timeouts.connect);
    backend.onopen = () => (clearTimeout(timer), resolve(true));
    backend.onerror = () => (clearTimeout(timer), resolve(false));
  });
  if (!opened) {
    backend.close();
    return plainResponse(502, 'Bad Gateway');
  }

  const { socket: client, response } = Deno.upgradeWebSocket(c.req.raw, backend.protocol ? { protocol: backend.protocol } : {});
  client.binaryType = 'arraybuffer';
  const early: (string | ArrayBuffer)[] = [];
  backend.onmessage = (event) => (client.readyState === WebSocket.OPEN ? client.send(event.data) : early.push(event.data));
  client.onopen = () => early.splice(0).forEach((data) => client.send(data));
  client.onmessage = (event) => backend.readyState === WebSocket.OPEN && backend.send(event.data);
  const closeBoth = (code?: number, reason?: string) => {
    // A script may only send 1000 or 3000-4999 (the WebSocket standard's close()); others, such as
    // a browser's 1001 or the 1005/1006 that report a missing close, become a normal close.
    const sendable = code === 1000 || (code !== undefined && code >= 3000 && code <= 4999) ? code : 1000;
    for (const socket of [client, backend]) {
      if (socket.readyState !== WebSocket.OPEN && socket.readyState !== WebSocket.CONNECTING) continue;
      try {
        socket.close(sendable, reason);
      } catch {
        socket.close(); // a reason too long to send
      }
    }
  };
  client.onclose = (event) => closeBoth(event.code, event.reason);
  backend.onclose = (event) => closeBoth(event.code, event.reason);
  client.onerror = () => closeBoth();
  backend.onerror = () => closeBoth();
  return response;
}
