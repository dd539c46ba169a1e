import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { fetchUpstream } from '../../src/core/proxy/fetchUpstream.ts';
import type { OutgoingRequest } from '../../src/core/Route.ts';
import { forwardWeb } from '../helpers/forwardWeb.ts';
import type { Upstream, UpstreamRequest } from '../../src/core/Upstream.ts';
import { UpstreamError } from '../../src/core/UpstreamError.ts';
import { RetryBudget } from '../../src/core/retry/RetryBudget.ts';
import { manualClock } from '../helpers/manualClock.ts';

type Behaviour = number | 'refused' | 'reset' | 'timeout';

/** A fake upstream: per origin, a status to answer or a failure to throw. Records what each backend received. */
function fakeUpstream(behaviours: Record<string, Behaviour>) {
  const calls: { origin: string; method: string; body: string }[] = [];
  const upstream: Upstream = async (request: UpstreamRequest) => {
    const body = request.body ? await new Response(request.body as BodyInit).text() : '';
    calls.push({ origin: request.origin, method: request.method, body });
    const behaviour = behaviours[request.origin] ?? 200;
    if (behaviour === 'refused') throw new UpstreamError('connect', 'ECONNREFUSED');
    if (behaviour === 'reset') throw new UpstreamError('failed', 'other side closed');
    if (behaviour === 'timeout') throw new UpstreamError('timeout', 'no response headers within 60000 ms');
    return new Response(behaviour === 204 ? null : `from ${request.origin}`, { status: behaviour });
  };
  return { upstream, calls };
}

const A = 'http://localhost:8081';
const B = 'http://localhost:8082';
const C = 'http://localhost:8083';

function setup(extra = '') {
  const config = loadConfig(`
algorithm: round_robin
health_check: false
${extra}
paths:
  - path: /
    servers: [localhost:8081, localhost:8082, localhost:8083]
`);
  return config.routes.match(undefined, '/')!;
}

/** Sends through forward(); a string body declares its length, as an HTTP client would; a stream declares `length` if given. */
function send(route: ReturnType<typeof setup>, upstream: Upstream, method = 'GET', body?: string | ReadableStream<Uint8Array>, length?: number) {
  const stream = typeof body === 'string' ? new Response(body).body : (body ?? null);
  const declared = typeof body === 'string' ? new TextEncoder().encode(body).byteLength : length;
  const headers = new Headers(declared === undefined ? {} : { 'content-length': String(declared) });
  const outgoing: OutgoingRequest = { method, path: '/x', query: '', headers, body: stream };
  return forwardWeb(route, outgoing, {
    upstream,
    signal: new AbortController().signal,
    pick: { clientAddress: '127.0.0.1', headers: new Headers() },
  });
}

describe('retries per method', () => {
  it('retries a GET on another backend after a connect failure, a reset or a timeout', async () => {
    for (const failure of ['refused', 'reset', 'timeout'] as const) {
      const fake = fakeUpstream({ [A]: failure });
      const response = await send(setup(), fake.upstream);
      expect(response.status).toBe(200);
      expect(fake.calls).toHaveLength(2);
      expect(fake.calls[0].origin).toBe(A);
      expect(await response.text()).toBe(`from ${fake.calls[1].origin}`);
      expect(fake.calls[1].origin).not.toBe(A);
    }
  });

  it('retries a POST only after a connect failure, sending the same body again', async () => {
    const refused = fakeUpstream({ [A]: 'refused' });
    const response = await send(setup(), refused.upstream, 'POST', 'order #1');
    expect(response.status).toBe(200);
    expect(refused.calls.map((call) => [call.method, call.body])).toEqual([
      ['POST', 'order #1'],
      ['POST', 'order #1'],
    ]);
    expect(refused.calls[1].origin).not.toBe(A);

    const reset = fakeUpstream({ [A]: 'reset' });
    expect((await send(setup(), reset.upstream, 'POST', 'order #2')).status).toBe(502);
    expect(reset.calls).toHaveLength(1);

    const timeout = fakeUpstream({ [A]: 'timeout' });
    expect((await send(setup(), timeout.upstream, 'PATCH', 'x')).status).toBe(504);
    expect(timeout.calls).toHaveLength(1);
  });

  it('retries PUT and DELETE like GET, as idempotent methods', async () => {
    for (const method of ['PUT', 'DELETE', 'HEAD', 'OPTIONS']) {
      const fake = fakeUpstream({ [A]: 'reset' });
      expect((await send(setup(), fake.upstream, method, method === 'PUT' ? 'doc' : undefined)).status).toBe(200);
      expect(fake.calls).toHaveLength(2);
    }
  });

  it('never replays a body larger than max_buffered_body, yet sends it whole once', async () => {
    const big = 'x'.repeat(2000);
    const fake = fakeUpstream({ [A]: 'refused' });
    const response = await send(setup('retries: { max_buffered_body: 1000 }'), fake.upstream, 'PUT', big);
    expect(response.status).toBe(502);
    expect(fake.calls).toEqual([{ origin: A, method: 'PUT', body: big }]);

    const small = fakeUpstream({ [A]: 'refused' });
    expect((await send(setup('retries: { max_buffered_body: 1000 }'), small.upstream, 'PUT', 'x'.repeat(1000))).status).toBe(200);
    expect(small.calls.map((call) => call.body.length)).toEqual([1000, 1000]);
  });

  it('streams a body of unknown length at once, and so never replays it', async () => {
    const fake = fakeUpstream({ [A]: 'refused' });
    const chunked = new Response('chunked upload').body!;
    const response = await send(setup(), fake.upstream, 'PUT', chunked);
    expect(response.status).toBe(502);
    expect(fake.calls).toEqual([{ origin: A, method: 'PUT', body: 'chunked upload' }]);
  });

  it('answers 400 without calling a backend when the upload breaks off while it is buffered', async () => {
    const fake = fakeUpstream({});
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
        controller.error(new Error('client went away'));
      },
    });
    expect((await send(setup(), fake.upstream, 'POST', broken, 100)).status).toBe(400);
    expect(fake.calls).toHaveLength(0);
  });

  it('stops after the configured attempts, and not at all with retries: false', async () => {
    const dead = { [A]: 'reset', [B]: 'reset', [C]: 'reset' } as const;
    const once = fakeUpstream(dead);
    expect((await send(setup('retries: { attempts: 1 }'), once.upstream)).status).toBe(502);
    expect(once.calls).toHaveLength(2);
    const never = fakeUpstream(dead);
    expect((await send(setup('retries: false'), never.upstream)).status).toBe(502);
    expect(never.calls).toHaveLength(1);
  });

  it('retries only the causes listed in retries.on', async () => {
    const fake = fakeUpstream({ [A]: 'timeout' });
    expect((await send(setup('retries: { on: [connect_failure] }'), fake.upstream)).status).toBe(504);
    expect(fake.calls).toHaveLength(1);
  });

  it('answers 503 naming the route when no backend can even be connected to', async () => {
    const fake = fakeUpstream({ [A]: 'refused', [B]: 'refused', [C]: 'refused' });
    const response = await send(setup(), fake.upstream);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('Service Unavailable: no healthy backend for /\n');
  });

  it('does not retry once the retry budget is spent', async () => {
    const route = setup('retries: { budget_ratio: 0, budget_min_per_second: 0 }');
    const fake = fakeUpstream({ [A]: 'refused' });
    expect((await send(route, fake.upstream)).status).toBe(502);
    expect(fake.calls).toHaveLength(1);
  });
});

describe('the retry budget', () => {
  it('allows retries up to the ratio of recent requests plus the floor, and refills as the window slides', async () => {
    const clock = manualClock(0);
    const budget = new RetryBudget(0.2, 0, clock.now);
    for (let i = 0; i < 50; i++) budget.recordRequest();
    const granted = Array.from({ length: 20 }, () => budget.tryRetry()).filter(Boolean).length;
    expect(granted).toBe(10);
    await clock.advance(9_000);
    expect(budget.tryRetry()).toBe(false);
    await clock.advance(1_000); // the first second's requests and retries leave the window together
    for (let i = 0; i < 5; i++) budget.recordRequest();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });

  it('grants the floor per second even with no traffic to speak of', () => {
    const budget = new RetryBudget(0.2, 1, manualClock(0).now);
    expect(Array.from({ length: 15 }, () => budget.tryRetry()).filter(Boolean).length).toBe(10);
  });
});

describe('passive health through forwarding', () => {
  it('ejects a backend after failures in a row, counting 5xx from passive_health.statuses', async () => {
    const route = setup('passive_health: { failures: 2, statuses: [500] }\nretries: false');
    const fake = fakeUpstream({ [A]: 500 });
    for (let i = 0; i < 6; i++) await (await send(route, fake.upstream)).text();
    // Round robin: A, B, C, A (ejected now), B, C, B...
    expect(fake.calls.map((call) => call.origin)).toEqual([A, B, C, A, B, C]);
    expect(route.pools[0].members[0].backend.isHealthy(Date.now())).toBe(false);
    for (let i = 0; i < 4; i++) await (await send(route, fake.upstream)).text();
    expect(fake.calls.slice(6).map((call) => call.origin)).not.toContain(A);
  });
});

describe('sticky sessions through forwarding', () => {
  it('sets the cookie on the first response and keeps the client on that backend while it is up', async () => {
    const route = setup('sticky: { cookie: lb, max_age: 1h }');
    const fake = fakeUpstream({});
    const first = await send(route, fake.upstream);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^lb=\w+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600$/);
    const pinned = fake.calls[0].origin;
    const again = (await Promise.all(
      Array.from({ length: 5 }, () =>
        forwardWeb(route, { method: 'GET', path: '/', query: '', headers: new Headers(), body: null }, {
          upstream: fake.upstream,
          signal: new AbortController().signal,
          pick: { clientAddress: undefined, headers: new Headers({ cookie: cookie.split(';')[0] }) },
        }),
      ),
    ));
    expect(fake.calls.slice(1).map((call) => call.origin)).toEqual(Array(5).fill(pinned));
    expect(again.map((response) => response.headers.get('set-cookie'))).toEqual(Array(5).fill(null));
  });
});

describe('a client that goes away', () => {
  it('is neither retried nor counted against the backend', async () => {
    const route = setup('passive_health: { failures: 1 }');
    const client = new AbortController();
    const calls: string[] = [];
    const upstream: Upstream = async (request) => {
      calls.push(request.origin);
      client.abort();
      throw new UpstreamError('failed', 'aborted');
    };
    const response = await forwardWeb(route, { method: 'GET', path: '/', query: '', headers: new Headers(), body: null }, {
      upstream,
      signal: client.signal,
      pick: { clientAddress: undefined, headers: new Headers() },
    });
    expect(response.status).toBe(502);
    expect(calls).toHaveLength(1);
    expect(route.pools[0].members.every((member) => member.backend.isHealthy(Date.now()))).toBe(true);
  });
});

describe('in-flight counting', () => {
  it('counts a request until its response body is read to the end, or cancelled', async () => {
    const route = setup();
    const backend = route.pools[0].members[0].backend;
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const upstream: Upstream = async () => new Response(new ReadableStream<Uint8Array>({ start: (c) => void (push = c) }));
    const response = await send(route, upstream);
    expect(backend.inFlight).toBe(1);
    push.enqueue(new TextEncoder().encode('part'));
    const reader = response.body!.getReader();
    await reader.read();
    expect(backend.inFlight).toBe(1);
    push.close();
    expect((await reader.read()).done).toBe(true);
    expect(backend.inFlight).toBe(0);

    const second = await send(route, upstream);
    const next = route.pools[0].members.find((member) => member.backend.inFlight === 1)!.backend;
    await second.body!.cancel();
    expect(next.inFlight).toBe(0);
  });

  it('releases at once a response that has no body, and a failed attempt', async () => {
    const route = setup();
    const fake = fakeUpstream({ [A]: 'refused', [B]: 204, [C]: 204 });
    expect((await send(route, fake.upstream)).status).toBe(204);
    expect(route.pools[0].members.map((member) => member.backend.inFlight)).toEqual([0, 0, 0]);
  });
});

describe('retries over fetch, with msw', () => {
  const server = setupServer(
    http.all('http://localhost:8081/*', () => HttpResponse.error()),
    http.all('http://localhost:8082/*', async ({ request }) => HttpResponse.text(`B got ${request.method} ${await request.text()}`)),
    http.all('http://localhost:8083/*', async ({ request }) => HttpResponse.text(`C got ${request.method} ${await request.text()}`)),
  );
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('retries an idempotent request after a network error, but not a POST that may have reached the backend', async () => {
    const get = await send(setup(), fetchUpstream());
    expect(await get.text()).toMatch(/^[BC] got GET $/);
    const post = await send(setup(), fetchUpstream(), 'POST', 'pay 10');
    expect(post.status).toBe(502);
  });
});
