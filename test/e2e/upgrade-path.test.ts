import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileBackend, type HostileBackend } from '../hostile/hostileBackend.ts';
import { rawExchange, statusOf } from '../hostile/rawClient.ts';
import { startOnRuntime, type RuntimeBalancer } from '../helpers/runtimes.ts';
import { waitFor } from '../helpers/waitFor.ts';

// Issue 12, item 1: a WebSocket upgrade takes the same path as every request on the node:http
// server (Node, and Deno through it): routed alike, counted in flight while its tunnel is open,
// given the sticky cookie, and retried and recorded when its backend cannot be reached.

const WS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** Opens a WebSocket tunnel through the balancer and resolves with the socket once the 101 has arrived. */
function openTunnel(url: string, path: string, host: string): Promise<{ socket: Socket; head: string }> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${WS}\r\n`));
    const timer = setTimeout(() => (socket.destroy(), reject(new Error('no 101 within 5 s'))), 5000);
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (!data.includes('\r\n\r\n')) return;
      clearTimeout(timer);
      resolve({ socket, head: data });
    });
    socket.on('error', reject);
  });
}

describe.each(['node', 'deno'] as const)('upgrades on the one request path (%s)', (runtime) => {
  let left: HostileBackend;
  let right: HostileBackend;
  let balancer: RuntimeBalancer;

  beforeAll(async () => {
    [left, right] = await Promise.all([startHostileBackend(), startHostileBackend()]);
    balancer = await startOnRuntime(
      runtime,
      `
health_check: false
hosts:
  - host: routed.test
    servers: [${left.address}]
  - host: least.test
    algorithm: least_connections
    servers: [${left.address}, ${right.address}]
  - host: sticky.test
    sticky: true
    servers: [${left.address}, ${right.address}]
  - host: failover.test
    algorithm: round_robin
    servers: [127.0.0.1:1, ${right.address}]
`,
    );
  }, 60_000);

  afterAll(async () => {
    await balancer?.stop();
    await Promise.all([left?.close(), right?.close()]);
  });

  it('routes an absolute-form upgrade by its own host, as it routes a plain request', async () => {
    const plain = await rawExchange(balancer.url, 'GET http://routed.test/plain HTTP/1.1\r\nHost: unknown.test\r\nConnection: close\r\n\r\n');
    expect(statusOf(plain.data)).toBe(200);
    const upgrade = await rawExchange(balancer.url, `GET http://routed.test/ws HTTP/1.1\r\nHost: unknown.test\r\n${WS}\r\n`, { timeoutMs: 1000 });
    expect(statusOf(upgrade.data)).toBe(101);
  });

  it('counts an open tunnel in flight, so least_connections sends plain requests to the other backend', async () => {
    const { socket, head } = await openTunnel(balancer.url, '/ws-least', 'least.test');
    try {
      expect(statusOf(head)).toBe(101);
      const tunnelled = left.seen.some((seen) => seen.url === '/ws-least') ? left : right;
      const other = tunnelled === left ? right : left;
      const before = other.seen.length;
      for (let i = 0; i < 10; i++) {
        const { data } = await rawExchange(balancer.url, `GET /plain-${i} HTTP/1.1\r\nHost: least.test\r\nConnection: close\r\n\r\n`);
        expect(statusOf(data)).toBe(200);
      }
      expect(other.seen.length - before).toBe(10);
    } finally {
      socket.destroy();
    }
  });

  it('sets the sticky cookie on the 101', async () => {
    const { socket, head } = await openTunnel(balancer.url, '/ws', 'sticky.test');
    socket.destroy();
    expect(statusOf(head)).toBe(101);
    expect(head).toMatch(/\r\nset-cookie: switchyard_backend=/i);
  });

  it('retries an upgrade whose backend refuses the connection on another backend, and records the failure', async () => {
    // Round robin sends every other first attempt to the refusing backend: six failures in a row
    // pass the passive health threshold (5), which ejects it with a log line.
    for (let i = 0; i < 12; i++) {
      const { socket, head } = await openTunnel(balancer.url, `/ws-${i}`, 'failover.test');
      socket.destroy();
      expect(statusOf(head)).toBe(101);
    }
    await waitFor(() => /127\.0\.0\.1:1\b.*eject/i.test(balancer.output()), 3000, 'a log line ejecting the refusing backend');
  });
});
