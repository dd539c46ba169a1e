import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';

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
paths:
  - path: /pears
    servers: [pears-a.test:80, pears-b.test:80]
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
    server.use(http.get('http://mango.test:8081/*', async () => (await delay(5_000), HttpResponse.text('late'))));
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
    const route = loaded.routes.match(undefined, '/pears')!;
    for (const member of route.pool.members) member.backend.healthy = false;
    try {
      const response = await app.request('http://lb.test/pears/1');
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('Service Unavailable: no healthy backend for /pears\n');
    } finally {
      for (const member of route.pool.members) member.backend.healthy = true;
    }
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
