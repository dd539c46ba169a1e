import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { isHopByHop } from '../core/proxy/hopByHop.ts';
import type { UpstreamRequest } from '../core/proxy/Upstream.ts';
import { plainResponse } from '../core/responses.ts';
import { webHeaders } from '../core/http/webHeaders.ts';

/** What Node's `upgrade` event hands over, passed to the app as its bindings. */
export interface UpgradeBindings {
  readonly incoming: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
}

/** The most a backend's answer to the handshake may hold before its blank line. */
const MAX_HANDSHAKE_HEAD = 16 * 1024;

/**
 * Node's WebSocket capability. Node cannot answer 101 through a Response, so the balancer does
 * what nginx does: it opens a connection to the backend and sends the (rewritten) upgrade request
 * on it. Only when the backend answers `101 Switching Protocols` are the two connections joined,
 * and from then on bytes are copied both ways untouched. Any other answer is passed to the client
 * without its body and the connection closed: a backend that declines the upgrade must not leave
 * the client holding a raw HTTP connection past the firewall. Resolves with a marker once joined
 * or answered, or with 502/504 for the caller to write when the backend cannot be reached.
 */
export function spliceWebSocket(request: UpstreamRequest, c: Context): Promise<Response> {
  const { socket: client, head } = c.env as UpgradeBindings;
  const url = new URL(request.origin);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // RFC 6066 section 3: a server name is a host name, never an address.
  const backend: Socket = secure ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }) }) : connectTcp({ host, port });
  const headers = new Headers(webHeaders(request.headers));
  if (!headers.has('host')) headers.set('host', url.host);

  return new Promise((resolve) => {
    let settled = false;
    const settle = (response: Response) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(response);
    };
    let timer = setTimeout(() => (backend.destroy(), settle(plainResponse(504, 'Gateway Timeout'))), request.timeouts.connect);

    backend.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => (backend.destroy(), settle(plainResponse(504, 'Gateway Timeout'))), request.timeouts.responseHeaders);
      let requestHead = `GET ${request.target} HTTP/1.1\r\n`;
      headers.forEach((value, name) => (requestHead += `${name}: ${value}\r\n`));
      backend.write(`${requestHead}\r\n`);
      readHandshake(backend, (answer, rest) => {
        if (!answer) return void (backend.destroy(), settle(plainResponse(502, 'Bad Gateway')));
        if (answer.status !== 101) {
          backend.destroy();
          client.end(declined(answer));
          return settle(RESPONSE_ALREADY_SENT);
        }
        client.write(answer.raw);
        if (rest.length > 0) client.write(rest);
        if (head.length > 0) backend.write(head);
        client.pipe(backend).pipe(client);
        settle(RESPONSE_ALREADY_SENT);
      });
    });
    backend.on('error', () => {
      if (settled) client.destroy();
      else settle(plainResponse(502, 'Bad Gateway'));
    });
    backend.on('close', () => {
      if (settled) client.destroy();
    });
    client.on('error', () => backend.destroy());
    client.on('close', () => {
      backend.destroy();
      settle(RESPONSE_ALREADY_SENT); // nobody left to answer
    });
  });
}

interface HandshakeAnswer {
  readonly status: number;
  /** The status line and header lines, blank line included, as the backend sent them. */
  readonly raw: Buffer;
  readonly lines: string[];
}

/** Reads the backend's answer up to its blank line; `undefined` when it is not HTTP or too long. */
function readHandshake(backend: Socket, done: (answer: HandshakeAnswer | undefined, rest: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end === -1 && buffered.length <= MAX_HANDSHAKE_HEAD) return;
    backend.off('data', onData);
    backend.pause();
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(buffered.toString('latin1', 0, 16));
    if (end === -1 || !status) return done(undefined, Buffer.alloc(0));
    const raw = buffered.subarray(0, end + 4);
    done({ status: Number(status[1]), raw, lines: raw.toString('latin1').split('\r\n').slice(1, -2) }, buffered.subarray(end + 4));
  };
  backend.on('data', onData);
}

/** The backend's refusal as the client gets it: its status and end-to-end headers, no body, and the connection closed. */
function declined(answer: HandshakeAnswer): string {
  let text = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n`;
  for (const line of answer.lines) {
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
    if (name && !isHopByHop(name) && name !== 'content-length') text += `${line}\r\n`;
  }
  return `${text}content-length: 0\r\nconnection: close\r\n\r\n`;
}

/** Writes one of the balancer's own short answers (a refusal) to a socket that is not an HTTP response. */
export async function writeRawResponse(socket: Duplex, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  let text = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n`;
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection') text += `${name}: ${value}\r\n`;
  });
  text += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(text, 'latin1'), body]));
}
