import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import type { RequestRecord } from '../../src/core/observe/RequestRecord.ts';
import type { Upstream, UpstreamRequest } from '../../src/core/Upstream.ts';

// createApp's `observe` option, as the Workers entry point uses it for the access log: told of each
// request once its response body has been read to its end.

const config = () =>
  loadConfig(`
health_check: false
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:8081]
`);

/** A backend that answers with `chunks` as its body (none for null), `status`, and its own X-Request-Id. */
function backend(status = 200, chunks: string[] | null = ['hello, ', 'world']) {
  const calls: UpstreamRequest[] = [];
  const upstream: Upstream = async (request) => {
    calls.push(request);
    const body =
      chunks === null
        ? null
        : new ReadableStream<Uint8Array>({
            start(controller) {
              for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
              controller.close();
            },
          });
    return new Response(body, { status, headers: { 'x-request-id': 'from-the-backend' } });
  };
  return { upstream, calls };
}

function setup(upstream: Upstream = backend().upstream) {
  const observed: { record: RequestRecord; status: number; bytesSent: number }[] = [];
  const app = createApp({
    config: config(),
    upstream,
    clientAddress: () => '192.0.2.7',
    log: () => {},
    // Copies of what the record held when observed, so a later change would not hide an early call.
    observe: (record) => observed.push({ record, status: record.status, bytesSent: record.bytesSent }),
  });
  const request = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    app.request(`http://lb.test${path}`, { ...init, headers: { host: 'www.mango.com', ...init.headers } });
  return { app, observed, request };
}

describe('createApp: observe (the Workers access log)', () => {
  it('is told of a request once, after its body has been read to the end, with the status and the bytes of the body', async () => {
    const { observed, request } = setup();
    const response = await request('/a?b=1');
    expect(response.status).toBe(200);
    expect(observed).toHaveLength(0);
    expect(await response.text()).toBe('hello, world');
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({ status: 200, bytesSent: 12 });
    const { record } = observed[0];
    expect(record).toMatchObject({ method: 'GET', host: 'www.mango.com', path: '/a', query: '?b=1', client: '192.0.2.7' });
    expect(record.route?.name).toBe('www.mango.com');
    expect(record.upstreamStatus).toBe(200);
    expect(record.attempts).toHaveLength(1);
    expect(record.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('counts the bytes of every chunk, multi-byte characters as bytes', async () => {
    const { observed, request } = setup(backend(200, ['\u00e9t\u00e9 ', 'x'.repeat(1000), '\u{1F96D}']).upstream);
    const response = await request('/');
    const body = new Uint8Array(await response.arrayBuffer());
    expect(body.byteLength).toBe(6 + 1000 + 4);
    expect(observed).toHaveLength(1);
    expect(observed[0].bytesSent).toBe(body.byteLength);
  });

  it('is told of a 404 the balancer answers itself, with its status, error and body bytes, once', async () => {
    const { observed, request } = setup();
    const response = await request('/', { headers: { host: 'nowhere.test' } });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not Found\n');
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({ status: 404, bytesSent: 10 });
    expect(observed[0].record.error).toBe('Not Found');
    expect(observed[0].record.route).toBeUndefined();
  });

  it('is told at once of an answer without a body', async () => {
    const { observed, request } = setup(backend(204, null).upstream);
    const response = await request('/nothing');
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({ status: 204, bytesSent: 0 });
  });

  it('is told of a HEAD request forwarded to the backend, at once', async () => {
    const { observed, request } = setup(backend(200, null).upstream);
    const response = await request('/', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({ status: 200, bytesSent: 0 });
    expect(observed[0].record.method).toBe('HEAD');
  });

  // Hono answers HEAD by dispatching as GET and returning `new Response(null, response)`
  // (hono-base.js): the counting stream that observed() in src/app.ts wraps the balancer's own body
  // in is then neither read nor cancelled, so its flush never runs and the request is never
  // observed: on Workers a HEAD answered 400/403/404/429/5xx by the balancer is never logged.
  it('is told of a HEAD request the balancer answers itself (404)', async () => {
    const { observed, request } = setup();
    const response = await request('/', { method: 'HEAD', headers: { host: 'nowhere.test' } });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('');
    await new Promise((resolve) => setImmediate(resolve));
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({ status: 404 });
  });

  it('is told of the balancer\'s own 502 once its body is read, with the cause', async () => {
    const failing: Upstream = async () => {
      throw new TypeError('fetch failed');
    };
    const { observed, request } = setup(failing);
    const response = await request('/x', { method: 'POST', body: 'payload' });
    expect(response.status).toBe(502);
    expect(observed).toHaveLength(0);
    expect(await response.text()).toBe('Bad Gateway\n');
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({ status: 502, bytesSent: 12 });
    expect(observed[0].record.error).toMatch(/^backend http:\/\/127\.0\.0\.1:8081: /);
  });

  it("sends the request id upstream and back, over the backend's own, and tells the same one", async () => {
    const fake = backend();
    const { observed, request } = setup(fake.upstream);
    const response = await request('/', { headers: { 'x-request-id': 'client-id-42' } });
    await response.text();
    expect(fake.calls[0].headers.get('x-request-id')).toBe('client-id-42');
    expect(response.headers.get('x-request-id')).toBe('client-id-42');
    expect(observed[0].record.requestId).toBe('client-id-42');
  });

  it('tells of a body the client stopped reading, with an error, once', async () => {
    const { observed, request } = setup(backend(200, ['a', 'b', 'c']).upstream);
    const response = await request('/');
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((resolve) => setImmediate(resolve));
    expect(observed).toHaveLength(1);
    expect(observed[0].status).toBe(200);
    expect(observed[0].record.error).toBe('the response was cut off before its end');
  });

  it('works without an observer: the response is the same', async () => {
    const app = createApp({ config: config(), upstream: backend().upstream, log: () => {} });
    const response = await app.request('http://lb.test/', { headers: { host: 'www.mango.com' } });
    expect(await response.text()).toBe('hello, world');
  });
});
