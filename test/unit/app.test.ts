import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { startHealthChecks } from '../../src/core/health/startHealthChecks.ts';

// The app with the portable fetch upstream, against backends simulated by msw: status codes and
// upstream behaviour that real servers make awkward to provoke.

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const loaded = loadConfig(`
hosts:
  - host: www.mango.com
    servers: [mango.test:8081]
    timeouts: { connect: 50ms, response_headers: 100ms, body_idle: 100ms }
`);
const app = createApp({ config: loaded, clientAddress: () => '192.0.2.10', log: () => {} });
const mango = (path: string, init: RequestInit = {}) =>
  app.request(`http://lb.test${path}`, { ...init, headers: { host: 'www.mango.com', ...(init.headers as Record<string, string>) } });

describe('createApp with the fetch upstream', () => {
  it('forwards to the backend with forwarding headers and the raw query', async () => {
    let seen: Request | undefined;
    server.use(http.all('http://mango.test:8081/*', ({ request }) => ((seen = request), HttpResponse.text('hi'))));
    const response = await mango('/a/./b?x=%2F&y');
    expect(await response.text()).toBe('hi');
    expect(seen!.url).toBe('http://mango.test:8081/a/b?x=%2F&y');
    expect(seen!.headers.get('x-forwarded-for')).toBe('192.0.2.10');
    expect(seen!.headers.get('x-forwarded-host')).toBe('www.mango.com');
  });

  it('returns a redirect to the client instead of following it', async () => {
    server.use(http.get('http://mango.test:8081/old', () => new HttpResponse(null, { status: 301, headers: { location: 'http://mango.test:8081/new' } })));
    const response = await mango('/old');
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('http://mango.test:8081/new');
  });

  it('answers 502 Bad Gateway when the upstream connection fails', async () => {
    server.use(http.get('http://mango.test:8081/*', () => HttpResponse.error()));
    const response = await mango('/x');
    expect(response.status).toBe(502);
    expect(await response.text()).toBe('Bad Gateway\n');
  });

  it('answers 504 Gateway Timeout when response headers are late', async () => {
    server.use(http.get('http://mango.test:8081/*', async () => (await delay('infinite'), HttpResponse.text('late'))));
    const response = await mango('/slow');
    expect(response.status).toBe(504);
    expect(await response.text()).toBe('Gateway Timeout\n');
  });

  it('errors the body when the upstream body stalls past body_idle', async () => {
    server.use(
      http.get('http://mango.test:8081/*', () => {
        const stream = new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('partial')) });
        return new HttpResponse(stream);
      }),
    );
    const response = await mango('/stall');
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow(/idle/);
  });

  it('does not mistake a client that reads slowly for a stalled backend', async () => {
    const chunks = ['one ', 'two ', 'three ', 'four ', 'five'];
    server.use(
      http.get('http://mango.test:8081/*', () => {
        const stream = new ReadableStream({
          start(c) {
            for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
            c.close();
          },
        });
        return new HttpResponse(stream);
      }),
    );
    const response = await mango('/slow-reader');
    const reader = response.body!.getReader();
    let text = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      text += new TextDecoder().decode(read.value);
      await new Promise((resolve) => setTimeout(resolve, 150)); // longer than body_idle, between reads
    }
    expect(text).toBe(chunks.join(''));
  });

  it('answers 503 naming the route when no backend is healthy', async () => {
    const config = loadConfig('paths:\n  - path: /pears\n    servers: [pears-a.test:80, pears-b.test:80]\n');
    // Both backends fail their first health check, which takes them down at once.
    const checks = startHealthChecks(config.backends, { upstream: async () => new Response(null, { status: 503 }), log: () => {}, schedule: false });
    await checks.probeAll();
    checks.stop();
    const response = await createApp({ config, log: () => {} }).request('http://lb.test/pears/1');
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('Service Unavailable: no healthy backend for /pears\n');
  });

  it('answers 404 Not Found when no route matches', async () => {
    const response = await app.request('http://lb.test/apples', { headers: { host: 'www.apple.com' } });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not Found\n');
  });

  it('answers 400 for a path that cannot be normalised safely', async () => {
    const response = await mango('/a%2F..%2F..%2Fetc');
    expect(response.status).toBe(400);
  });
});
