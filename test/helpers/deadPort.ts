import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback port with nothing listening on it: a backend that refuses connections. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
