import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

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
