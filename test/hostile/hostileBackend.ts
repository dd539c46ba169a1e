import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the backend saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  body: Buffer;
  /** The request's connection ended before its response did (the balancer gave up on it). */
  aborted: boolean;
  /** The request body never arrived whole. */
  bodyCut: boolean;
}

export interface HostileBackend {
  /** `127.0.0.1:PORT` */
  readonly address: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * The backend the hostile suite checks against: it records every request and its fate.
 * - `/endless`: streams 64 KiB chunks, honouring backpressure, until its connection goes away;
 * - `/mib`: 1 MiB; `/slow`: answers after 500 ms;
 * - `/ws-deny`: a handshake refused with 403 and a body; `/ws-103`: 103 Early Hints, then 101;
 * - `/die-mid-body`: announces 1 MiB, sends 64 KiB, then drops the connection;
 * - `/ws`: a WebSocket handshake is answered 101, then every byte is echoed;
 * - anything else: the request body is read whole and `ok METHOD URL BYTES` answered.
 */
export async function startHostileBackend(): Promise<HostileBackend> {
  const seen: SeenRequest[] = [];
  const chunk = Buffer.alloc(64 * 1024, 120);
  const server: Server = createServer((req, res) => {
    const record: SeenRequest = { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: Buffer.alloc(0), aborted: false, bodyCut: false };
    seen.push(record);
    res.once('close', () => (record.aborted = !res.writableFinished));
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('aborted', () => (record.bodyCut = true));
    req.on('error', () => (record.bodyCut = true));
    req.on('end', () => {
      record.body = Buffer.concat(parts);
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        return pump();
      }
      if (req.url === '/mib') return res.end(Buffer.alloc(1024 * 1024, 109));
      if (req.url === '/slow') return void setTimeout(() => res.end('slow\n'), 500);
      if (req.url === '/die-mid-body') {
        res.writeHead(200, { 'content-length': String(1024 * 1024) });
        return res.write(chunk, () => res.destroy());
      }
      res.end(`ok ${req.method} ${req.url} ${record.body.length}\n`);
    });
  });
  server.on('upgrade', (req, socket) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: Buffer.alloc(0), aborted: false, bodyCut: false });
    if (req.url === '/ws-deny') return void socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\ndenied\n');
    if (req.url === '/ws-103') socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
    socket.pipe(socket);
    socket.on('error', () => {});
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
