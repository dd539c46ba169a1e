import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';

// Upgrades on Node, where they bypass the HTTP adapter: a backend that declines a WebSocket
// upgrade must not leave the client a raw connection past the firewall, and upgrades other than
// WebSocket are declined as HTTP allows.

let backend: Server;
const seen: string[] = [];
let balancer: RunningBalancer;

beforeAll(async () => {
  // A plain HTTP backend with no upgrade support: it answers upgrade requests as ordinary ones.
  backend = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    res.end(`ok ${req.url}`);
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const { port } = backend.address() as AddressInfo;
  balancer = await startBalancer(`
paths:
  - path: /
    servers: [127.0.0.1:${port}]
    health_check: false
    firewall_rules: { path_reject: [/messages] }
`);
});

afterAll(async () => {
  await balancer?.stop();
  backend.closeAllConnections();
  await new Promise((resolve) => backend.close(resolve));
});

/** Writes raw bytes on one connection and collects everything until the balancer closes it. */
function exchange(bytes: string): Promise<string> {
  const { port } = new URL(balancer.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => (clearTimeout(timer), resolve(data)));
    socket.write(bytes);
  });
}

const WS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('upgrades on Node', () => {
  it('passes on a declined WebSocket upgrade and closes, so no request can follow past the firewall', async () => {
    const reply = await exchange(`GET /pictures HTTP/1.1\r\nHost: a\r\n${WS}\r\nGET /messages/secret HTTP/1.1\r\nHost: a\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.toLowerCase()).toContain('connection: close');
    expect(reply).not.toContain('/messages/secret');
    expect(seen).not.toContain('GET /messages/secret');
  });

  it('refuses a WebSocket upgrade to a firewalled path', async () => {
    expect(await exchange(`GET /messages HTTP/1.1\r\nHost: a\r\n${WS}\r\n`)).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('serves a request that offers another upgrade (h2c) as the plain request it also is', async () => {
    const reply = await exchange('GET /plain HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply).toContain('ok /plain');
  });

  it('refuses an upgrade request with a body it can no longer read', async () => {
    const reply = await exchange('POST /c HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: foo\r\nContent-Length: 3\r\n\r\nabc');
    expect(reply).toMatch(/^HTTP\/1\.1 501 /);
    expect(seen).not.toContain('POST /c');
  });
});
