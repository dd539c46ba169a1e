import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { MIRROR_HEADER, MIRRORS_IN_FLIGHT } from '../../src/core/pool/Mirror.ts';
import type { Background, Upstream, UpstreamRequest, WebWire } from '../../src/core/Upstream.ts';
import { errorsOf } from '../helpers/configErrors.ts';
import { seededRandom } from '../helpers/manualClock.ts';
import { readWebBody } from '../helpers/readBody.ts';
import { throughBalancer } from '../helpers/throughBalancer.ts';

const PRIMARY = 'http://localhost:8081';
const SHADOW = 'http://localhost:8082';

const text = (route: string) => `
health_check: false
pools:
  main: { servers: [localhost:8081] }
  shadow: { servers: [localhost:8082] }
paths:
  - path: /
${route}
`;

const config = (route: string, random?: () => number) => loadConfig(text(route), 'lb.yaml', { random });

/** Work handed to the background, as a Worker's waitUntil would get it. */
function collectingBackground(): Background<WebWire> & { readonly tasks: Promise<unknown>[] } {
  const tasks: Promise<unknown>[] = [];
  return { tasks, detachedSignal: () => new AbortController().signal, run: (task) => void tasks.push(task) };
}

/**
 * An upstream where the primary answers 200 at once and the mirror's backend behaves as `shadow`
 * says (answers, hangs, fails); each request is remembered with its body read.
 */
function upstreams(shadow: 'answers' | 'hangs' | 'fails' = 'answers') {
  const sent: (UpstreamRequest & { bodyText: string | null })[] = [];
  const upstream: Upstream = async (request) => {
    const bodyText = request.body === null ? null : request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : await readWebBody(request.body);
    sent.push({ ...request, bodyText });
    if (request.origin === SHADOW && shadow === 'hangs') return new Promise(() => {});
    if (request.origin === SHADOW && shadow === 'fails') throw new Error('connect ECONNREFUSED');
    return { status: 200, headers: new Headers({ 'content-type': 'text/plain' }), body: new TextEncoder().encode(request.origin === SHADOW ? 'shadow' : 'main') };
  };
  return { upstream, sent, to: (origin: string) => sent.filter((request) => request.origin === origin) };
}

describe('mirror', () => {
  it('sends a copy, marked, with the same method, path, query and body, to the mirror pool; the client gets the pool answer', async () => {
    const compiled = config('    pool: main\n    mirror: { pool: shadow }');
    const { upstream, to } = upstreams();
    const background = collectingBackground();
    const body = new TextEncoder().encode('{"order":1}');
    const { answer } = await throughBalancer(
      compiled,
      upstream,
      { method: 'POST', target: '/orders?x=1', headers: ['host', 'app.test', 'content-length', String(body.byteLength)], body },
      background,
    );
    await Promise.all(background.tasks);
    expect(new TextDecoder().decode(answer.body as Uint8Array)).toBe('main');
    const [copy] = to(SHADOW);
    expect(copy).toMatchObject({ method: 'POST', target: '/orders?x=1', bodyText: '{"order":1}' });
    expect(copy.headers.get(MIRROR_HEADER)).toBe('1');
    expect(to(PRIMARY)[0].headers.get(MIRROR_HEADER)).toBeNull();
    expect(to(PRIMARY)[0].bodyText).toBe('{"order":1}');
  });

  it('answers the client while the mirror hangs, and hands the copy to the background', async () => {
    const compiled = config('    pool: main\n    mirror: { pool: shadow }');
    const { upstream, to } = upstreams('hangs');
    const background = collectingBackground();
    const { answer } = await throughBalancer(compiled, upstream, {}, background);
    expect(answer.status).toBe(200);
    expect(to(SHADOW)).toHaveLength(1);
    expect(background.tasks).toHaveLength(1);
  });

  it('answers the client as usual when the mirror fails', async () => {
    const compiled = config('    pool: main\n    mirror: { pool: shadow }');
    const { upstream } = upstreams('fails');
    const background = collectingBackground();
    const { answer, record } = await throughBalancer(compiled, upstream, {}, background);
    await Promise.all(background.tasks);
    expect(answer.status).toBe(200);
    expect(record.error).toBeUndefined();
  });

  it('copies its percent of the requests: 30% of 10,000 within 1 point', async () => {
    const compiled = config('    pool: main\n    mirror: { pool: shadow, percent: 30 }', seededRandom(7));
    const { upstream, to } = upstreams();
    const background = collectingBackground();
    for (let i = 0; i < 10_000; i++) await throughBalancer(compiled, upstream, {}, background);
    await Promise.all(background.tasks);
    expect(to(PRIMARY)).toHaveLength(10_000);
    expect(Math.abs(to(SHADOW).length / 10_000 - 0.3)).toBeLessThan(0.01);
  });

  it('copies no request whose body is larger than max_buffered_body, or of unknown length; the request itself goes through', async () => {
    const compiled = config('    servers: [localhost:8081]\n    retries: { max_buffered_body: 16 }\n    mirror: { pool: shadow }');
    const { upstream, to } = upstreams();
    const background = collectingBackground();
    const big = new TextEncoder().encode('x'.repeat(17));
    await throughBalancer(compiled, upstream, { method: 'POST', headers: ['host', 'app.test', 'content-length', '17'], body: big }, background);
    const stream = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode('chunked')), c.close()) });
    await throughBalancer(compiled, upstream, { method: 'POST', headers: ['host', 'app.test', 'transfer-encoding', 'chunked'], body: stream }, background);
    await Promise.all(background.tasks);
    expect(to(PRIMARY).map((request) => request.bodyText)).toEqual(['x'.repeat(17), 'chunked']);
    expect(to(SHADOW)).toHaveLength(0);
  });

  it('mirrors a split route whichever side serves', async () => {
    const compiled = loadConfig(
      `
health_check: false
pools:
  a: { servers: [localhost:8081] }
  b: { servers: [localhost:8083] }
  shadow: { servers: [localhost:8082] }
paths:
  - path: /
    split: [{ pool: a, weight: 1 }, { pool: b, weight: 1 }]
    mirror: { pool: shadow }
`,
      'lb.yaml',
    );
    const { upstream, to } = upstreams();
    const background = collectingBackground();
    for (let i = 0; i < 20; i++) await throughBalancer(compiled, upstream, {}, background);
    expect(to(SHADOW)).toHaveLength(20);
  });

  it('stops copying while MIRRORS_IN_FLIGHT copies hang, and still serves every request', async () => {
    const compiled = config('    pool: main\n    mirror: { pool: shadow }');
    const { upstream, to } = upstreams('hangs');
    const background = collectingBackground();
    for (let i = 0; i < MIRRORS_IN_FLIGHT + 10; i++) expect((await throughBalancer(compiled, upstream, {}, background)).answer.status).toBe(200);
    expect(to(SHADOW)).toHaveLength(MIRRORS_IN_FLIGHT);
    expect(to(PRIMARY)).toHaveLength(MIRRORS_IN_FLIGHT + 10);
  });

  it('stops copying while the copies in flight hold 32 MiB of bodies', async () => {
    const compiled = config(`    servers: [localhost:8081]\n    retries: { max_buffered_body: ${16 * 1024 * 1024} }\n    mirror: { pool: shadow }`);
    const { upstream, to } = upstreams('hangs');
    const background = collectingBackground();
    const body = new Uint8Array(10 * 1024 * 1024);
    for (let i = 0; i < 5; i++) {
      const { answer } = await throughBalancer(compiled, upstream, { method: 'PUT', headers: ['host', 'app.test', 'content-length', String(body.byteLength)], body }, background);
      expect(answer.status).toBe(200);
    }
    expect(to(SHADOW)).toHaveLength(3);
    expect(to(PRIMARY)).toHaveLength(5);
  });

  it('answers the client, and counts nothing in flight, when the upstream throws at once for the copy', async () => {
    const compiled = config('    pool: main\n    mirror: { pool: shadow }');
    const { upstream: answering } = upstreams();
    const throwing: Upstream = (request) => {
      if (request.origin === SHADOW) throw new Error('thrown at once');
      return answering(request);
    };
    const background = collectingBackground();
    const { answer } = await throughBalancer(compiled, throwing, {}, background);
    await Promise.all(background.tasks);
    expect(answer.status).toBe(200);
    const route = compiled.routesInOrder[0];
    expect(route.mirror!.inFlight).toBe(0);
    expect(route.mirror!.pool.members[0].backend.inFlight).toBe(0);
  });

  it("removes a client's own mirror header from the real request", async () => {
    const compiled = config('    pool: main');
    const { upstream, to } = upstreams();
    await throughBalancer(compiled, upstream, { headers: ['host', 'app.test', MIRROR_HEADER, '1'] });
    expect(to(PRIMARY)[0].headers.get(MIRROR_HEADER)).toBeNull();
  });

  it('copies nothing where the runtime gives no background (WebSocket upgrades)', async () => {
    const compiled = config('    pool: main\n    mirror: { pool: shadow }');
    const { upstream, to } = upstreams();
    await throughBalancer(compiled, upstream);
    expect(to(SHADOW)).toHaveLength(0);
  });

  it('refuses an unknown pool with a suggestion, and a mirror on a route that answers itself, naming the field', () => {
    expect(errorsOf(text('    pool: main\n    mirror: { pool: shadw }'))).toEqual([expect.stringMatching(/^lb\.yaml:\d+:\d+: paths\[0\]\.mirror\.pool: unknown pool "shadw"; did you mean "shadow"\?$/)]);
    const errors = (route: string) => errorsOf(text(route)).filter((line) => !line.includes(': warning: '));
    expect(errors('    redirect: { to: /elsewhere }\n    mirror: { pool: shadow }')).toEqual([
      expect.stringMatching(/^lb\.yaml:\d+:\d+: paths\[0\]\.mirror: this route answers itself \(redirect\) and forwards nothing/),
    ]);
    expect(errorsOf(text('    pool: main\n    mirror: { pool: shadow, percent: 101 }'))).toEqual([expect.stringMatching(/paths\[0\]\.mirror\.percent: expected a percentage from 0 to 100/)]);
  });

  it('warns of a mirror to the pool the route already sends to', () => {
    const compiled = config('    pool: main\n    mirror: { pool: main }');
    expect(compiled.warnings).toContainEqual(
      expect.objectContaining({ path: 'paths[0].mirror.pool', message: 'the route\'s requests already go to pool "main": its backends would get each copied request twice' }),
    );
  });
});
