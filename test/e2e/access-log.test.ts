import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadPort } from '../helpers/deadPort.ts';
import { serveProcess, type ServeProcess } from '../helpers/serveProcess.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// Issue 13, point 1: `--access-log json|text|off` on `switchyard serve` from the build (run
// `npm run build` first) and on `deno task serve` (point 7: the same flags), over loopback: the
// `listening on` line first on stdout, then one line per request with the documented fields, and
// the request id a client sent (when valid) or one made here, sent upstream and back.

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A GET with the Host and headers of our choosing (fetch will not send a Host), on a fresh connection. */
function get(url: string, path: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers, agent: false, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('latin1');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The access log's JSON lines: stdout past its first line. */
function jsonLines(served: ServeProcess): Record<string, unknown>[] {
  return served
    .stdout()
    .split('\n')
    .slice(1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits for the one JSON line carrying `requestId` and returns it. */
async function lineFor(served: ServeProcess, requestId: string): Promise<Record<string, unknown>> {
  await waitFor(() => jsonLines(served).some((line) => line.request_id === requestId), 5000, `an access log line with request_id ${requestId} in:\n${served.stdout()}`);
  const lines = jsonLines(served).filter((line) => line.request_id === requestId);
  expect(lines).toHaveLength(1);
  return lines[0];
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FIELDS = ['time', 'client', 'method', 'host', 'path', 'status', 'bytes_sent', 'duration_ms', 'route', 'backend', 'attempts', 'request_id', 'upstream_status'];
const WS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

let counter = 0;
/** A valid request id of our own, to find a request's line. */
const nextId = (what: string) => `t-${what}-${process.pid}-${++counter}`;

let app: TestBackend;
let other: TestBackend;
let dead: number;
let deadToo: number;
let deadRetry: number;

beforeAll(async () => {
  [app, other, dead, deadToo, deadRetry] = await Promise.all([startTestBackend('app'), startTestBackend('other'), deadPort(), deadPort(), deadPort()]);
});

afterAll(async () => {
  await Promise.all([app?.close(), other?.close()]);
});

const config = () => `
health_check: false
hosts:
  - host: app.test
    servers: [${app.address}]
    firewall_rules: { path_reject: [/private] }
  - host: dead.test
    servers: [127.0.0.1:${dead}]
  - host: down.test
    health_check: { interval: 30s }
    servers: [127.0.0.1:${deadToo}]
  - host: retry.test
    algorithm: round_robin
    passive_health: false
    servers: [127.0.0.1:${deadRetry}, ${other.address}]
`;

describe.each(['node', 'deno'] as const)('--access-log json, the default (%s)', (runtime) => {
  let served: ServeProcess;
  beforeAll(async () => void (served = await serveProcess(runtime, config())), 40_000);
  afterAll(async () => void (await served?.stop()));

  it('prints the listening line first on stdout, then one JSON line per request with exactly the documented fields', async () => {
    const id = nextId('fields');
    const before = Date.now();
    const reply = await get(served.url, '/bytes/1234?x=1&y=two', { host: 'app.test', 'x-request-id': id });
    expect(reply.status).toBe(200);
    const line = await lineFor(served, id);
    expect(served.stdout().split('\n')[0]).toBe(`listening on ${served.url}`);
    expect(Object.keys(line).sort()).toEqual([...FIELDS, 'query'].sort());
    expect(line).toMatchObject({
      client: '127.0.0.1',
      method: 'GET',
      host: 'app.test',
      path: '/bytes/1234',
      query: 'x=1&y=two',
      status: 200,
      bytes_sent: 1234,
      route: 'app.test',
      backend: app.address,
      attempts: 1,
      request_id: id,
      upstream_status: 200,
    });
    expect(line.time).toMatch(RFC3339);
    expect(Math.abs(Date.parse(line.time as string) - before)).toBeLessThan(5000);
    expect(typeof line.duration_ms).toBe('number');
    expect(line.duration_ms as number).toBeGreaterThanOrEqual(0);
  });

  it('leaves query out when the request had none, and counts the body bytes sent', async () => {
    const id = nextId('noquery');
    const reply = await get(served.url, '/echo', { host: 'app.test', 'x-request-id': id });
    const line = await lineFor(served, id);
    expect(Object.keys(line).sort()).toEqual([...FIELDS].sort());
    expect(line.bytes_sent).toBe(Buffer.byteLength(reply.body, 'latin1'));
  });

  it('gives a firewall 403 an error naming the rule, with no backend and no attempts', async () => {
    const id = nextId('firewall');
    expect((await get(served.url, '/private/x', { host: 'app.test', 'x-request-id': id })).status).toBe(403);
    const line = await lineFor(served, id);
    expect(Object.keys(line).sort()).toEqual([...FIELDS, 'error'].sort());
    expect(line).toMatchObject({ status: 403, route: 'app.test', backend: null, attempts: 0, upstream_status: null });
    expect(line.error).toMatch(/firewall: path_reject/);
  });

  it('gives the answer to a refusing backend an error with its connect failure', async () => {
    const id = nextId('refused');
    const reply = await get(served.url, '/x', { host: 'dead.test', 'x-request-id': id });
    expect([502, 503]).toContain(reply.status);
    const line = await lineFor(served, id);
    expect(line).toMatchObject({ status: reply.status, route: 'dead.test', backend: `127.0.0.1:${dead}`, upstream_status: null });
    expect(line.error).toContain(`ECONNREFUSED 127.0.0.1:${dead}`);
  });

  it('gives a 503 for a route whose backends are down by health checks "no healthy backend", with no backend tried', async () => {
    const id = nextId('down');
    expect((await get(served.url, '/x', { host: 'down.test', 'x-request-id': id })).status).toBe(503);
    const line = await lineFor(served, id);
    expect(line).toMatchObject({ status: 503, route: 'down.test', backend: null, attempts: 0 });
    expect(line.error).toMatch(/no healthy backend/);
  });

  it('gives a request no route takes a 404 line with no route and an error', async () => {
    const id = nextId('noroute');
    expect((await get(served.url, '/x', { host: 'nowhere.test', 'x-request-id': id })).status).toBe(404);
    const line = await lineFor(served, id);
    expect(line).toMatchObject({ status: 404, host: 'nowhere.test', route: null, backend: null, attempts: 0 });
    expect(typeof line.error).toBe('string');
  });

  it("logs a request the HTTP parser refuses (400, 431) with its method, path, status and why, and sends its id", async () => {
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(new URL(served.url).port), '127.0.0.1');
        let data = '';
        socket.on('data', (chunk: Buffer) => void (data += chunk.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve(data));
        socket.write(text);
      });
    const badPath = `/bad-framing-${process.pid}-${++counter}`;
    const answer = await raw(`POST ${badPath}?a=1 HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const id = /\r\nx-request-id: ([^\r]+)\r\n/i.exec(answer)?.[1];
    expect(id).toMatch(UUID);
    const line = await lineFor(served, id!);
    expect(line).toMatchObject({ method: 'POST', path: badPath, query: 'a=1', status: 400, route: null, backend: null, attempts: 0, error: 'Bad Request: the request is not valid HTTP/1.1' });
    expect(line.bytes_sent).toBeGreaterThan(0);

    const bigPath = `/big-head-${process.pid}-${++counter}`;
    const big = await raw(`GET ${bigPath} HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    const bigLine = await lineFor(served, /\r\nx-request-id: ([^\r]+)\r\n/i.exec(big)![1]);
    expect(bigLine).toMatchObject({ method: 'GET', path: bigPath, status: 431, error: 'Request Header Fields Too Large' });
  });

  it('shows a retried request with attempts 2 and the backend that answered', async () => {
    // Round robin over [dead, other]: of two requests, one tries the dead backend first.
    const ids = [nextId('retry'), nextId('retry')];
    for (const id of ids) expect((await get(served.url, '/x', { host: 'retry.test', 'x-request-id': id })).status).toBe(200);
    const lines = await Promise.all(ids.map((id) => lineFor(served, id)));
    const retried = lines.find((line) => line.attempts === 2);
    expect(retried, JSON.stringify(lines)).toBeDefined();
    expect(retried).toMatchObject({ status: 200, backend: other.address, upstream_status: 200 });
    expect(retried).not.toHaveProperty('error');
  });

  it('keeps a valid X-Request-Id: the backend gets it, the response carries it, the line logs it', async () => {
    const id = 'Trace.Id-01:ab+cd/ef=@~_';
    const reply = await get(served.url, '/echo', { host: 'app.test', 'x-request-id': id });
    expect(reply.headers['x-request-id']).toBe(id);
    expect((JSON.parse(reply.body) as EchoedRequest).headers['x-request-id']).toBe(id);
    expect((await lineFor(served, id)).request_id).toBe(id);
  });

  it.each([
    ['with spaces', 'not a valid id'],
    ['of 300 characters', 'a'.repeat(300)],
    ['missing', undefined],
  ])('replaces an X-Request-Id %s with a new UUID, sent upstream, back and logged', async (_, sent) => {
    const reply = await get(served.url, '/echo', { host: 'app.test', ...(sent === undefined ? {} : { 'x-request-id': sent }) });
    const id = reply.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect((JSON.parse(reply.body) as EchoedRequest).headers['x-request-id']).toBe(id);
    expect((await lineFor(served, id)).request_id).toBe(id);
  });

  it('logs a WebSocket upgrade once, with status 101, when its tunnel closes', async () => {
    const id = nextId('ws');
    const { port } = new URL(served.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    let data = '';
    socket.on('data', (chunk: Buffer) => void (data += chunk.toString('latin1')));
    socket.write(`GET /ws HTTP/1.1\r\nHost: app.test\r\nX-Request-Id: ${id}\r\n${WS}\r\n`);
    // The 101, then the backend's hello frame naming it.
    await waitFor(() => data.includes('\r\n\r\n') && data.includes('"name":"app"'), 5000, `a 101 and a hello through the tunnel, got ${JSON.stringify(data)}`);
    expect(data).toMatch(/^HTTP\/1\.1 101 /);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(jsonLines(served).filter((line) => line.request_id === id)).toHaveLength(0);
    socket.end();
    const line = await lineFor(served, id);
    expect(line).toMatchObject({ method: 'GET', host: 'app.test', path: '/ws', status: 101, route: 'app.test', backend: app.address, attempts: 1, upstream_status: 101 });
    expect(line).not.toHaveProperty('error');
    expect(line.bytes_sent as number).toBeGreaterThan(0);
  });
});

describe.each(['node', 'deno'] as const)('--access-log text and off (%s)', (runtime) => {
  let text: ServeProcess;
  let off: ServeProcess;
  beforeAll(async () => void ([text, off] = await Promise.all([serveProcess(runtime, config(), { args: ['--access-log', 'text'] }), serveProcess(runtime, config(), { args: ['--access-log', 'off'] })])), 40_000);
  afterAll(async () => void (await Promise.all([text?.stop(), off?.stop()])));

  it('text: one documented line per request, an own answer with its error', async () => {
    const ok = nextId('text');
    const refused = nextId('text403');
    expect((await get(text.url, '/bytes/10?q=1', { host: 'app.test', 'x-request-id': ok })).status).toBe(200);
    expect((await get(text.url, '/private', { host: 'app.test', 'x-request-id': refused })).status).toBe(403);
    await waitFor(() => text.stdout().includes(refused), 5000, `a text line for ${refused} in:\n${text.stdout()}`);
    const lines = text.stdout().split('\n');
    expect(lines[0]).toBe(`listening on ${text.url}`);
    const time = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';
    const okLine = lines.filter((line) => line.includes(ok));
    expect(okLine).toHaveLength(1);
    expect(okLine[0]).toMatch(
      new RegExp(`^${time} 127\\.0\\.0\\.1 GET app\\.test /bytes/10\\?q=1 200 10 \\d+\\.\\d{3}ms route=app\\.test backend=127\\.0\\.0\\.1:${app.port} attempts=1 upstream_status=200 request_id=${ok}$`),
    );
    const refusedLine = lines.filter((line) => line.includes(refused));
    expect(refusedLine).toHaveLength(1);
    expect(refusedLine[0]).toMatch(
      new RegExp(`^${time} 127\\.0\\.0\\.1 GET app\\.test /private 403 \\d+ \\d+\\.\\d{3}ms route=app\\.test backend=- attempts=0 upstream_status=- request_id=${refused} error="firewall: path_reject"$`),
    );
  });

  it('off: nothing on stdout after the listening line', async () => {
    const id = nextId('off');
    expect((await get(off.url, '/echo', { host: 'app.test', 'x-request-id': id })).status).toBe(200);
    expect((await get(off.url, '/private', { host: 'app.test' })).status).toBe(403);
    expect((await get(off.url, '/x', { host: 'dead.test' })).status).toBeGreaterThanOrEqual(500);
    // The same requests are logged within this time with a format on (the tests above).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(off.stdout()).toBe(`listening on ${off.url}\n`);
  });
});
