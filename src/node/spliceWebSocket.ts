import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { UpstreamRequest } from '../core/proxy/Upstream.ts';
import { plainResponse } from '../core/responses.ts';

/** What Node's `upgrade` event hands over, passed to the app as its bindings. */
export interface UpgradeBindings {
  readonly incoming: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
}

/**
 * Node's WebSocket capability. Node cannot answer 101 through a Response, so the balancer does
 * what nginx does: it opens a connection to the backend, sends the (rewritten) upgrade request on
 * it, and from then on copies bytes both ways; the backend's own 101 and every frame pass
 * through untouched. Resolves with a marker once joined, or with 502/504 when the backend cannot
 * be reached, which the caller writes to the client's socket.
 */
export function spliceWebSocket(request: UpstreamRequest, c: Context): Promise<Response> {
  const { socket: client, head } = c.env as UpgradeBindings;
  const url = new URL(request.origin);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const backend: Socket = secure ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
  const headers = new Headers(request.headers);
  if (!headers.has('host')) headers.set('host', url.host);

  return new Promise((resolve) => {
    let joined = false;
    const timer = setTimeout(() => {
      backend.destroy();
      resolve(plainResponse(504, 'Gateway Timeout'));
    }, request.timeouts.connect);
    backend.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      joined = true;
      let head$ = `GET ${request.target} HTTP/1.1\r\n`;
      headers.forEach((value, name) => (head$ += `${name}: ${value}\r\n`));
      backend.write(`${head$}\r\n`);
      if (head.length > 0) backend.write(head);
      client.pipe(backend).pipe(client);
      resolve(RESPONSE_ALREADY_SENT);
    });
    backend.on('error', () => {
      clearTimeout(timer);
      if (joined) client.destroy();
      else resolve(plainResponse(502, 'Bad Gateway'));
    });
    client.on('error', () => backend.destroy());
    client.on('close', () => backend.destroy());
    backend.on('close', () => client.destroy());
  });
}

/** Writes one of the balancer's own answers (a refusal) to a socket that is not an HTTP response. */
export async function writeRawResponse(socket: Duplex, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  let text = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n`;
  response.headers.forEach((value, name) => (text += `${name}: ${value}\r\n`));
  text += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(text, 'latin1'), body]));
}
