import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startOnRuntime } from '../helpers/runtimes.ts';

// A backend that sends `100 Continue` unasked is answering normally (RFC 9110 section 15.2: a
// client must accept a 1xx it did not expect): through the whole balancer, on Node (`switchyard
// serve` from the build: run `npm run build` first) and on Deno, the client gets the final
// response and the backend stays in the pool.

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close().catch(() => {})));
});

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

/**
 * A raw backend that sends a 100 Continue before every answer: as soon as a request head is in
 * when the request has a body (so it arrives while the body is being sent), else with the answer.
 */
async function continueBackend(): Promise<{ address: string; served: () => number }> {
  let served = 0;
  const server: Server = createServer((socket: Socket) => {
    socket.on('error', () => {});
    let buffered = '';
    let remaining = -1;
    let body = '';
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('latin1');
      for (;;) {
        if (remaining < 0) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffered.slice(0, end);
          buffered = buffered.slice(end + 4);
          remaining = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          body = '';
          if (remaining > 0) socket.write(CONTINUE);
          else socket.write(CONTINUE + CONTINUE);
        }
        const piece = buffered.slice(0, remaining);
        buffered = buffered.slice(piece.length);
        remaining -= piece.length;
        body += piece;
        if (remaining > 0) return;
        remaining = -1;
        served++;
        const answer = `a got ${body.length} bytes`;
        socket.write(`HTTP/1.1 200 OK\r\nx-served-by: a\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))));
  cleanup.push(() => new Promise((resolve) => (sockets.forEach((socket) => socket.destroy()), server.close(resolve))));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, served: () => served };
}

async function plainBackend(): Promise<string> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'x-served-by': 'b' }).end('b'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.each(['node', 'deno'] as const)('a backend that sends 100 Continue unasked, on %s', (runtime) => {
  it('answers the client with its final response, and is not ejected: the next requests still go to it', async () => {
    const a = await continueBackend();
    const b = await plainBackend();
    // One failure would eject a backend for a long time, and no failure is retried elsewhere.
    const balancer = await startOnRuntime(
      runtime,
      `
health_check: false
passive_health: { failures: 1, cooldown: 60s }
retries: { attempts: 0 }
paths:
  - path: /
    algorithm: round_robin
    servers: [${a.address}, ${b}]
`,
    );
    cleanup.push(() => balancer.stop());

    const answers: { status: number; servedBy: string | null; body: string; sent: number }[] = [];
    for (const body of [undefined, undefined, 'x'.repeat(1000), 'y'.repeat(100_000)]) {
      const response = await fetch(`${balancer.url}/anything`, { method: body ? 'POST' : 'GET', body, signal: AbortSignal.timeout(5_000) });
      answers.push({ status: response.status, servedBy: response.headers.get('x-served-by'), body: await response.text(), sent: body?.length ?? 0 });
    }
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    const fromA = answers.filter((answer) => answer.servedBy === 'a');
    expect(fromA.length).toBe(2);
    expect(a.served()).toBe(2);
    for (const answer of fromA) expect(answer.body).toBe(`a got ${answer.sent} bytes`);
    expect(balancer.output()).not.toMatch(/ejected/);
  });
});
