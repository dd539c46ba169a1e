import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** `length` bytes of text that compresses well, the same every time. */
export function compressibleText(length: number): Buffer {
  return Buffer.from('switchyard compresses this line of text. '.repeat(Math.ceil(length / 41)).slice(0, length));
}

/** A loopback backend that shows what only timing shows: streaming and cancellation. */
export interface StreamingBackend {
  /** `127.0.0.1:PORT`, as a `servers` entry. */
  readonly address: string;
  /** Paths of `/hang/*` requests whose connection closed before they were answered. */
  readonly abandoned: Set<string>;
  /** Paths of `/hang/*` requests received so far. */
  readonly hanging: Set<string>;
  close(): Promise<void>;
}

/**
 * - `/first-chunk`: answers as soon as the first chunk of the request body arrives, echoing it, so
 *   the client gets an answer before it has finished sending only if the balancer streams.
 * - `/hang/ID`: never answers, and records when the connection goes away.
 * - `/reset`: drops the connection without answering.
 * - `/text/N`: N bytes of text with a Content-Length and a strong ETag (`compress` cases).
 * - `/png`: 4 KiB announced as image/png.
 * - `/gzip`: text the backend compressed itself (`Content-Encoding: gzip`).
 * - `/events`: server-sent events of unknown length: one event, then nothing until the client goes.
 */
export async function startStreamingBackend(): Promise<StreamingBackend> {
  const abandoned = new Set<string>();
  const hanging = new Set<string>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/first-chunk') {
      req.once('data', (chunk: Buffer) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`first: ${chunk.toString()}`));
      req.resume();
      return;
    }
    if (path.startsWith('/hang/')) {
      hanging.add(path);
      res.on('close', () => {
        if (!res.writableEnded) abandoned.add(path);
      });
      return;
    }
    if (path === '/reset') return void req.socket.destroy();
    const text = /^\/text\/(\d+)$/.exec(path);
    if (text) {
      const body = compressibleText(Number(text[1]));
      return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length, etag: '"t1"' }).end(body);
    }
    if (path === '/png') return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': 4096 }).end(compressibleText(4096));
    if (path === '/gzip') {
      const body = gzipSync(compressibleText(4096));
      return void res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length }).end(body);
    }
    if (path === '/events') return void res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).write('data: one\n\n');
    if (path === '/healthcheck') return void res.end('OK\n');
    res.writeHead(404).end('no such path\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    abandoned,
    hanging,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
