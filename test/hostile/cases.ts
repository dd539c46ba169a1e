import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOnRuntime, type RuntimeBalancer, type RuntimeName } from '../helpers/runtimes.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { startHostileBackend, type HostileBackend } from './hostileBackend.ts';
import { rawExchange, statusOf } from './rawClient.ts';

/** The client timeouts of the suite's balancer: short, so a slow client is seen in well under a second. */
const CLIENT_TIMEOUT_MS = 600;
/** The suite's idle timeout: longer than the others, so an idle close can be told from a head timeout. */
const IDLE_TIMEOUT_MS = 1200;

const WS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/**
 * Replays, as raw bytes, the requests and connections an attacker uses to make a balancer spend
 * more than the request is worth, against one runtime; each case asserts the answer and what the
 * backend received (issue 11, "A lasting guard").
 */
export function defineHostileSuite(runtime: Exclude<RuntimeName, 'workerd'>): void {
  describe(`hostile clients on ${runtime}`, () => {
    let backend: HostileBackend;
    let balancer: RuntimeBalancer;
    let url: string;

    beforeAll(async () => {
      backend = await startHostileBackend();
      balancer = await startOnRuntime(
        runtime,
        `
timeouts: { client_header: ${CLIENT_TIMEOUT_MS}ms, client_idle: ${IDLE_TIMEOUT_MS}ms, client_body: ${CLIENT_TIMEOUT_MS}ms, client_send: ${CLIENT_TIMEOUT_MS}ms }
health_check: false
hosts:
  - host: trace.test
    firewall_rules: { method_allow: [GET, TRACE] }
    servers: [${backend.address}]
paths:
  - path: /
    servers: [${backend.address}]
`,
      );
      url = balancer.url;
    }, 60_000);

    afterAll(async () => {
      await balancer?.stop();
      await backend?.close();
    });

    /** Sends one request and returns its status, with how many requests the backend saw meanwhile. */
    async function send(bytes: string | Buffer): Promise<{ status: number | undefined; data: string; reached: number }> {
      const before = backend.seen.length;
      const { data } = await rawExchange(url, bytes, { timeoutMs: 5000 });
      return { status: statusOf(data), data, reached: backend.seen.length - before };
    }

    describe('limits', () => {
      it('answers 414 to a request-target over max_request_target (8 KiB) and forwards nothing', async () => {
        const { status, reached } = await send(`GET /${'a/'.repeat(4200)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect(status).toBe(414);
        expect(reached).toBe(0);
      });

      it('answers 414 to a request line longer than the whole head may be', async () => {
        const { status, reached } = await send(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
        expect(status).toBe(414);
        expect(reached).toBe(0);
      });

      it('routes a long path of many segments under the limit', async () => {
        const path = `/${'a/'.repeat(3000)}`;
        const { status } = await send(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect(status).toBe(200);
        expect(backend.seen.at(-1)?.url).toBe(path);
      });

      it('answers 431 to more header fields than max_header_count (100), instead of dropping the rest', async () => {
        const fields = Array.from({ length: 1100 }, (_, i) => `X-F${i}: v\r\n`).join('');
        const { status, reached } = await send(`POST / HTTP/1.1\r\nHost: x\r\n${fields}Content-Length: 5\r\nConnection: close\r\n\r\nhello`);
        expect(status).toBe(431);
        expect(reached).toBe(0);
      });

      it('answers 431 to a head over max_header_size (16 KiB)', async () => {
        const { status, reached } = await send(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`);
        expect(status).toBe(431);
        expect(reached).toBe(0);
      });
    });

    describe('framing', () => {
      it.each([['gzip, chunked'], ['identity, chunked']])('answers 501 to Transfer-Encoding: %s and forwards nothing', async (codings) => {
        const { status, reached } = await send(`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${codings}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
        expect(status).toBe(501);
        expect(reached).toBe(0);
      });

      it('answers 400 to Transfer-Encoding on an HTTP/1.0 request and forwards nothing', async () => {
        const { status, reached } = await send('POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
        expect(status).toBe(400);
        expect(reached).toBe(0);
      });

      it('answers 400 to two Content-Length fields, even equal ones', async () => {
        const { status, reached } = await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello');
        expect(status).toBe(400);
        expect(reached).toBe(0);
      });

      it('answers 400 to a bad chunk size', async () => {
        const { status } = await send('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
        expect(status).toBe(400);
      });

      it('forwards the body of a GET that has a Content-Length', async () => {
        const { status, data } = await send('GET /with-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
        expect(status).toBe(200);
        expect(data).toContain('ok GET /with-body 5');
        expect(backend.seen.at(-1)?.body.toString()).toBe('hello');
      });

      it('answers 400 to OPTIONS * rather than forwarding it as a path', async () => {
        const { status, reached } = await send('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        expect(status).toBe(400);
        expect(reached).toBe(0);
      });

      it('answers 400 to a WebSocket handshake that carries a body, and the backend sees nothing', async () => {
        const { status, reached } = await send(`GET /ws HTTP/1.1\r\nHost: x\r\n${WS}Content-Length: 5\r\n\r\nhello`);
        expect(status).toBe(400);
        expect(reached).toBe(0);
      });
    });

    describe('methods and fields', () => {
      it('answers 405 to TRACE on a route that does not allow it', async () => {
        const { status, data, reached } = await send('TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        expect(status).toBe(405);
        expect(data).toMatch(/\r\nallow: GET/i);
        expect(reached).toBe(0);
      });

      it('forwards TRACE where method_allow names it', async () => {
        const { status } = await send('TRACE / HTTP/1.1\r\nHost: trace.test\r\nConnection: close\r\n\r\n');
        expect(status).toBe(200);
        expect(backend.seen.at(-1)?.method).toBe('TRACE');
      });

      it('keeps Host when Connection names it', async () => {
        const { status } = await send('GET /named-host HTTP/1.1\r\nHost: client.example\r\nConnection: host, close\r\n\r\n');
        expect(status).toBe(200);
        const headers = backend.seen.at(-1)!.rawHeaders;
        expect(headers[headers.findIndex((name) => name.toLowerCase() === 'host') + 1]).toBe('client.example');
      });
    });

    describe('slow and idle clients', () => {
      it('answers 408 to a head sent one byte at a time (slowloris) and closes, after client_header', async () => {
        const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ';
        const later = Array.from({ length: 40 }, (_, i) => [(i + 1) * 100, 'a'] as const);
        const result = await rawExchange(url, head, { later, timeoutMs: 5000 });
        expect(result.closed).toBe(true);
        expect(statusOf(result.data)).toBe(408);
        expect(result.elapsed).toBeLessThan(CLIENT_TIMEOUT_MS * 4);
      });

      it('closes a connection that sends nothing, after client_header', async () => {
        const result = await rawExchange(url, '', { timeoutMs: 5000 });
        expect(result.closed).toBe(true);
        expect(result.data).toBe('');
      });

      it('closes an idle keep-alive connection after client_idle, quietly', async () => {
        const result = await rawExchange(url, 'GET /idle HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 5000 });
        expect(statusOf(result.data)).toBe(200);
        expect(result.closed).toBe(true);
        // A status line, not the digits: a random X-Request-Id may hold 408.
        expect(result.data).not.toMatch(/HTTP\/1\.1 408 /);
        expect(result.elapsed).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
      });

      it('times the head of a request sent while the one before it is answered from its first byte (client_header, not client_idle)', async () => {
        const result = await rawExchange(url, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', { later: [[150, 'GET /next HTTP/1.1\r\nHo']], timeoutMs: 5000 });
        expect(statusOf(result.data)).toBe(200);
        expect(result.data).toMatch(/HTTP\/1\.1 408/);
        expect(result.elapsed).toBeLessThan(150 + CLIENT_TIMEOUT_MS + IDLE_TIMEOUT_MS / 2);
      });

      it('ends a request whose body stalls after client_body, with 408, and cancels it upstream', async () => {
        const before = backend.seen.length;
        const result = await rawExchange(url, 'POST /stalled-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nsome of it', { timeoutMs: 5000 });
        expect(result.closed).toBe(true);
        expect(statusOf(result.data)).toBe(408);
        await waitFor(() => backend.seen.length > before && backend.seen.at(-1)!.bodyCut, 3000, 'the backend to see the upload cut off');
      });

      it('cuts off a client that stops reading its response after client_send, and cancels the upstream request', async () => {
        const before = backend.seen.length;
        const result = await rawExchange(url, 'GET /endless HTTP/1.1\r\nHost: x\r\n\r\n', { pauseMs: CLIENT_TIMEOUT_MS * 4, timeoutMs: 8000 });
        expect(statusOf(result.data)).toBe(200);
        expect(result.closed).toBe(true);
        await waitFor(() => backend.seen.length > before && backend.seen.at(-1)!.aborted, 3000, 'the backend to see its response abandoned');
      });

      it('lets a WebSocket tunnel stay quiet longer than client_idle', async () => {
        const result = await rawExchange(url, `GET /ws HTTP/1.1\r\nHost: x\r\n${WS}\r\n`, { later: [[IDLE_TIMEOUT_MS * 1.5, 'ping']], timeoutMs: IDLE_TIMEOUT_MS * 2 });
        expect(statusOf(result.data)).toBe(101);
        expect(result.data.endsWith('ping')).toBe(true);
        expect(result.closed).toBe(false);
      });
    });

    describe('found by review', () => {
      it('sends the whole of a large response to a GET that offers h2c', async () => {
        const h2c = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
        const result = await rawExchange(url, `GET /mib HTTP/1.1\r\nHost: x\r\n${h2c}\r\n`, { timeoutMs: 5000 });
        expect(statusOf(result.data)).toBe(200);
        expect(result.closed).toBe(true);
        expect(result.received).toBeGreaterThan(1024 * 1024);
      });

      it('closes a refused upgrade even when the client keeps its side open', async () => {
        // Bytes written after the balancer's answer meet a closed connection only if it let go of it.
        const result = await rawExchange(url, `GET /ws HTTP/1.1\r\nHost: x\r\n${WS}Content-Length: 5\r\n\r\nhello`, { halfOpen: true, later: [[1600, 'ping'], [1800, 'ping']], timeoutMs: 4000 });
        expect(statusOf(result.data)).toBe(400);
        expect(result.closed).toBe(true);
      });

      it('takes a WebSocket handshake with Content-Length: 0 as one without a body', async () => {
        const result = await rawExchange(url, `GET /ws HTTP/1.1\r\nHost: x\r\n${WS}Content-Length: 0\r\n\r\n`, { timeoutMs: 500 });
        expect(statusOf(result.data)).toBe(101);
      });

      it("skips a 103 before the backend's 101", async () => {
        const result = await rawExchange(url, `GET /ws-103 HTTP/1.1\r\nHost: x\r\n${WS}\r\n`, { timeoutMs: 500 });
        expect(statusOf(result.data)).toBe(101);
      });

      it("relays a declined handshake's short body", async () => {
        const result = await rawExchange(url, `GET /ws-deny HTTP/1.1\r\nHost: x\r\n${WS}\r\n`, { timeoutMs: 3000 });
        expect(statusOf(result.data)).toBe(403);
        expect(result.data.endsWith('denied\n')).toBe(true);
      });

      it('answers a pipelined upgrade only after the response owed before it', async () => {
        const result = await rawExchange(url, `GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /ws HTTP/1.1\r\nHost: x\r\n${WS}\r\n`, { timeoutMs: 1500 });
        expect(statusOf(result.data)).toBe(200);
        expect(result.data.indexOf('slow\n')).toBeLessThan(result.data.indexOf('HTTP/1.1 101'));
      });

      it('never lets a refusal of a pipelined head overtake the response owed before it', async () => {
        const result = await rawExchange(url, `GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /${'a'.repeat(30_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, { timeoutMs: 3000 });
        expect(statusOf(result.data)).toBe(200);
      });

      it('answers 414 to a long request line sent in two writes, and 431 to a short target with large fields', async () => {
        const line = await rawExchange(url, `GET /${'a'.repeat(10_000)}`, { later: [[100, `${'b'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]] });
        expect(statusOf(line.data)).toBe(414);
        const fields = await send(`GET /${'a'.repeat(8000)} HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`);
        expect(fields.status).toBe(431);
      });

      it('routes an absolute-form target without a path to /, its query kept', async () => {
        const { status } = await send('GET http://x?next=/admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        expect(status).toBe(200);
        expect(backend.seen.at(-1)?.url).toBe('/?next=/admin');
      });

      it('never takes a client that drops its upload for a failing backend', async () => {
        for (let i = 0; i < 6; i++) {
          await rawExchange(url, 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { timeoutMs: 150 });
        }
        const { status } = await send('GET /after-drops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        expect(status).toBe(200);
        expect(balancer.output()).not.toMatch(/ejected/);
      });
    });

    it('cuts the client off when the backend dies mid-body, and logs it in at most one line', async () => {
      // The error log's lines: the access log's JSON lines (a line per request) are not what is counted.
      const logLines = () => balancer.output().split('\n').filter((line) => !line.startsWith('{"time"')).length;
      const before = logLines();
      const result = await rawExchange(url, 'GET /die-mid-body HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 5000 });
      expect(statusOf(result.data)).toBe(200);
      expect(result.closed).toBe(true);
      // Give a late log line the time to appear before counting.
      const again = await rawExchange(url, 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(statusOf(again.data)).toBe(200);
      expect(logLines() - before).toBeLessThanOrEqual(1);
    });

    it('logs no stack trace for anything above', () => {
      expect(balancer.output()).not.toMatch(/^\s+at /m);
    });
  });
}
