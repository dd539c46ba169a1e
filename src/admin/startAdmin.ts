import { getRequestListener } from '@hono/node-server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminApp, type AdminContext } from './adminApp.ts';

/** Where the admin listener listens. */
export interface AdminAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Reads `--admin` or `admin.address`: `HOST:PORT`, `[IPV6]:PORT`, or a port alone (`9090` or
 * `:9090`), which means 127.0.0.1: the admin listener is private unless told otherwise.
 * @returns undefined when the text is none of these
 */
export function parseAdminAddress(text: string): AdminAddress | undefined {
  const trimmed = text.trim();
  const alone = /^:?(\d{1,5})$/.exec(trimmed);
  const match = alone ? undefined : /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(trimmed);
  if (!alone && !match) return undefined;
  const port = Number(alone ? alone[1] : match![3]);
  if (port > 65535) return undefined;
  return { host: alone ? '127.0.0.1' : (match![1] ?? match![2]), port };
}

/** Whether only this machine can reach the address: 127.0.0.0/8, ::1, or localhost. */
export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host.toLowerCase() === 'localhost';
}

export interface RunningAdmin {
  /** `http://HOST:PORT`, with the port actually bound. */
  readonly url: string;
  readonly address: AdminAddress;
  /** Stops accepting and resolves once open admin requests are answered. */
  close(): Promise<void>;
}

/**
 * Serves the admin endpoints (`adminApp`) on their own listener, apart from every routed one, so
 * no Host header or path can reach them through the balancer. Refuses an address other than
 * loopback unless a token is set.
 */
export async function startAdmin(address: AdminAddress, context: AdminContext): Promise<RunningAdmin> {
  if (!isLoopback(address.host) && context.token() === undefined) {
    throw new Error(`the admin listener on ${hostPort(address)} is not on loopback, so it needs a token: set admin.token (at least 16 characters; write it as \${env:NAME})`);
  }
  const app = adminApp({ ...context, loopbackOnly: isLoopback(address.host) });
  const server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => (server.off('error', reject), resolve()));
  });
  const bound = server.address() as AddressInfo;
  const actual = { host: bound.address, port: bound.port };
  return {
    url: `http://${hostPort(actual)}`,
    address: actual,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** `HOST:PORT` as a URL writes it: an IPv6 address in brackets. */
export function hostPort(address: AdminAddress): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
