import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';

// Bad input over a raw socket: every malformed request gets a 4xx (or the connection closed by
// Node's parser), never a 5xx from the balancer itself and never a crash; it goes on serving.

let backend: TestBackend;
let balancer: RunningBalancer;

beforeAll(async () => {
  backend = await startTestBackend('one');
  balancer = await startBalancer(`paths:\n  - path: /\n    servers: [${backend.address}]\n`);
});

afterAll(async () => {
  await balancer?.stop();
  await backend?.close();
});

/**
 * Sends raw bytes and returns the status line's code, 0 when the balancer closed the connection
 * without one, or -1 when it neither answered nor closed within 3 s (a hang, which fails).
 */
function statusOf(bytes: string): Promise<number> {
  const { port } = new URL(balancer.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    let hung = false;
    const timer = setTimeout(() => ((hung = true), socket.destroy()), 3_000);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? (hung ? -1 : 0)));
    });
    socket.write(bytes);
  });
}

describe('malformed requests', () => {
  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a Host header with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ['an unclosed IPv6 Host', 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n'],
    ['both Content-Length and chunked (request smuggling)', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a malformed escape in the path', 'GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['an encoded slash in the path', 'GET /a%2F..%2Fb HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['the asterisk form', 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
    ['a header line without a colon', 'GET / HTTP/1.1\r\nHost: a\r\nnonsense\r\n\r\n'],
    ['a WebSocket upgrade with a broken Host', 'GET /ws HTTP/1.1\r\nHost: [zz\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'],
  ])('answers %s with a 4xx or a closed connection', async (_, bytes) => {
    const status = await statusOf(bytes);
    expect(status === 0 || (status >= 400 && status < 500), `status ${status}`).toBe(true);
  });

  it('answers HTTP/1.0 without a Host by the path routes', async () => {
    expect(await statusOf('GET /x HTTP/1.0\r\n\r\n')).toBe(200);
  });

  it('keeps serving after all of them', async () => {
    expect((await fetch(`${balancer.url}/still-here`)).status).toBe(200);
    expect(balancer.process.exitCode).toBeNull();
  });
});
