import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { WebSocketServer } from 'ws';

/** What the echo backend saw of a request, as it answers on every path not listed below. */
export interface EchoedRequest {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  bodyBytes: number;
}

export interface TestBackend {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:PORT`, as a `servers` entry. */
  readonly address: string;
  readonly server: Server;
  /** Requests received, in order (the health check path included). */
  readonly seen: EchoedRequest[];
  close(): Promise<void>;
}

/**
 * A real node:http backend on loopback for end-to-end tests. Paths with special behaviour:
 * - `/healthcheck`: 200 `OK`
 * - `/status/NNN`: answers status NNN with no body for 204/304
 * - `/redirect`: 302 to `/elsewhere`
 * - `/gzip`: a gzip-encoded body of `hello gzip` repeated
 * - `/trailers`: a chunked body, then the trailer field `x-checksum`
 * - `/cookies`: three `Set-Cookie` fields, one with a comma in its Expires date
 * - `/upload`: reads the request body, answers its byte count and SHA-1-free checksum (sum mod 2^32)
 * - `/bytes/N`: N bytes of `x`, streamed in 64 KiB chunks
 * - `/slow/MS`: waits MS milliseconds before answering headers
 * - `/stall-body`: sends headers and part of the body, then nothing
 * - `/die-mid-body`: announces 1 MB, sends 10 KB, then destroys the socket
 * - `/hop`: answers with hop-by-hop headers, including one named in `Connection`
 * - `/ws`: a WebSocket upgrade: the backend first sends `{ name, url, host, forwardedFor }` as
 *   JSON, then echoes every message
 * Anything else echoes the request as JSON (`EchoedRequest`).
 */
export async function startTestBackend(name = 'backend', hostname = '127.0.0.1'): Promise<TestBackend> {
  const seen: EchoedRequest[] = [];
  const server = createServer((req, res) => handle(name, seen, req, res));
  server.keepAliveTimeout = 10_000;
  const webSockets = acceptWebSockets(name, server);
  await new Promise<void>((resolve) => server.listen(0, hostname, resolve));
  const { port } = server.address() as AddressInfo;
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  return {
    name,
    port,
    address: `${host}:${port}`,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of webSockets.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function handle(name: string, seen: EchoedRequest[], req: IncomingMessage, res: ServerResponse): void {
  let bodyBytes = 0;
  let checksum = 0;
  req.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
    for (const byte of chunk) checksum = (checksum + byte) >>> 0;
  });
  req.on('end', () => {
    const record: EchoedRequest = { name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes };
    seen.push(record);
    respond(name, record, checksum, req, res);
  });
}

function respond(name: string, record: EchoedRequest, checksum: number, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const served = { 'x-served-by': name };
  if (path === '/healthcheck') return void res.writeHead(200, { 'content-type': 'text/plain', ...served }).end('OK\n');
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status) {
    const code = Number(status[1]);
    res.writeHead(code, { 'content-type': 'text/plain', etag: '"v1"', ...served });
    return void res.end(code === 204 || code === 304 ? undefined : `status ${code}\n`);
  }
  if (path === '/redirect') return void res.writeHead(302, { location: '/elsewhere', ...served }).end('moved\n');
  if (path === '/gzip') {
    const body = gzipSync(Buffer.from('hello gzip '.repeat(100)));
    return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain', 'content-length': body.length, ...served }).end(body);
  }
  if (path === '/trailers') {
    // A chunked body followed by a trailer section (RFC 9110 section 6.5). The connection is not
    // reused: under wrangler dev, workerd's fetch fails the next request on a connection whose
    // last response carried trailers (a 502 for an unrelated request).
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum', connection: 'close', ...served });
    res.write('body with trailers\n');
    res.addTrailers({ 'x-checksum': 'sha256-abc123' });
    return void res.end();
  }
  if (path === '/cookies') {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'c=3; HttpOnly']);
    return void res.writeHead(200, served).end('cookies\n');
  }
  if (path === '/upload') return void res.writeHead(200, { 'content-type': 'application/json', ...served }).end(JSON.stringify({ bytes: record.bodyBytes, checksum }));
  const bytes = /^\/bytes\/(\d+)$/.exec(path);
  if (bytes) return void streamBytes(res, Number(bytes[1]), served);
  const slow = /^\/slow\/(\d+)$/.exec(path);
  if (slow) {
    const timer = setTimeout(() => res.writeHead(200, served).end('slow\n'), Number(slow[1]));
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (path === '/stall-body') {
    res.writeHead(200, { 'content-type': 'text/plain', ...served });
    return void res.write('partial ');
  }
  if (path === '/die-mid-body') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1_000_000, ...served });
    res.write(Buffer.alloc(10_000, 'y'), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  if (path === '/hop') {
    res.writeHead(200, { connection: 'x-secret, keep-alive', 'x-secret': 'hop', 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive', 'x-end-to-end': 'kept', ...served });
    return void res.end('hop\n');
  }
  res.writeHead(200, { 'content-type': 'application/json', ...served }).end(JSON.stringify(record));
}

function streamBytes(res: ServerResponse, total: number, headers: Record<string, string>): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total, ...headers });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let left = total;
  const write = () => {
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) return void res.once('drain', write);
    }
    res.end();
  };
  write();
}

/** WebSocket upgrades on `/ws`: a hello naming what the backend saw, then an echo of every message. */
function acceptWebSockets(name: string, server: Server): WebSocketServer {
  const webSockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/ws')) return void socket.destroy();
    webSockets.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ name, url: req.url, host: req.headers.host, forwardedFor: req.headers['x-forwarded-for'] }));
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  return webSockets;
}
