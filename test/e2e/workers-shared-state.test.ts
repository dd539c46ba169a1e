import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOnRuntime, type RuntimeBalancer } from '../helpers/runtimes.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// The SWITCHYARD_STATE Durable Object under `wrangler dev`, which runs it locally: two Workers
// (two `wrangler dev`, so two isolates for sure), the second bound to the first one's object
// through wrangler's dev registry, as every isolate of a deployed Worker is bound to the one object.

const TOKEN = 'an-admin-token-for-the-test';
const RATE = 10;
const BURST = 10;

/** A backend whose health check (`healthy`) or answers (`failing`: 503) the test turns off, counting the requests it gets besides probes. */
async function switchableBackend() {
  const state = { healthy: true, failing: false, requests: 0, probes: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === '/healthcheck') {
      state.probes++;
      res.writeHead(state.healthy ? 200 : 503).end();
      return;
    }
    state.requests++;
    if (state.failing) res.writeHead(503).end('failing');
    else res.end('switchable');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { state, address, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const get = (base: string, path: string, headers: Record<string, string> = {}) => fetch(new URL(path, base), { headers, signal: AbortSignal.timeout(10_000) });

describe('the Worker with its SWITCHYARD_STATE Durable Object', () => {
  let steady: TestBackend;
  let switchable: Awaited<ReturnType<typeof switchableBackend>>;
  let first: RuntimeBalancer;
  let second: RuntimeBalancer;
  const admin = { authorization: `Bearer ${TOKEN}` };
  const status = async (worker: RuntimeBalancer) => (await (await get(worker.url, '/status', admin)).json()) as { backends: { url: string; health: string }[] };
  const healthOf = async (worker: RuntimeBalancer, address: string) => (await status(worker)).backends.find((backend) => backend.url === `http://${address}`)?.health;

  beforeAll(async () => {
    [steady, switchable] = await Promise.all([startTestBackend('steady'), switchableBackend()]);
    const config = {
      admin: { token: TOKEN },
      health_check: { interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1 },
      passive_health: { failures: 2, cooldown: '60s' },
      paths: [
        { path: '/limited', servers: [steady.address], rate_limit: { requests: RATE, per: '1s', burst: BURST, key: { header: 'x-client' } } },
        { path: '/', servers: [switchable.address, steady.address], algorithm: 'round_robin' },
      ],
    };
    const registry = await mkdtemp(join(tmpdir(), 'switchyard-registry-'));
    first = await startOnRuntime('workerd', JSON.stringify(config), { registry });
    second = await startOnRuntime('workerd', JSON.stringify(config), { registry, sharedState: 'borrowed' });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await Promise.all([steady?.close(), switchable?.close()]);
  });

  it('probes from the Durable Object without any traffic: a backend that fails its check is down in /status and /metrics within about an interval', async () => {
    // One request each: the isolates sync once, which arms the object's alarm.
    expect((await get(first.url, '/warm')).status).toBe(200);
    expect((await get(second.url, '/warm')).status).toBe(200);
    await waitFor(async () => (await healthOf(first, switchable.address)) === 'up', 10_000, 'the first verdict');
    const probes = switchable.state.probes;
    switchable.state.healthy = false;
    const requests = switchable.state.requests;
    const started = Date.now();
    await waitFor(async () => (await healthOf(first, switchable.address)) === 'down', 10_000, 'the object to see the backend down');
    // About an interval (1 s), on a busy machine.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(switchable.state.probes).toBeGreaterThan(probes);
    // Both Workers read the object: the same verdict, with no request sent in between.
    expect(await healthOf(second, switchable.address)).toBe('down');
    const metrics = await (await get(second.url, '/metrics', admin)).text();
    expect(metrics).toContain(`switchyard_backend_up{backend="${switchable.address}"} 0`);
    expect(metrics).toContain(`switchyard_backend_up{backend="${steady.address}"} 1`);
    expect(switchable.state.requests).toBe(requests);
  });

  it('sends no request to it from either Worker once their copies are refreshed (a second or two)', async () => {
    // The first request after a quiet spell goes by the copy it has and refreshes it behind.
    await get(first.url, '/refresh');
    await get(second.url, '/refresh');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const before = switchable.state.requests;
    for (let i = 0; i < 10; i++) {
      for (const worker of [first, second]) {
        const reply = await get(worker.url, `/avoid/${i}`);
        expect(reply.status).toBe(200);
        expect(await reply.text()).toContain('"name":"steady"');
      }
    }
    expect(switchable.state.requests).toBe(before);
  });

  it('probes a backend about once per interval for the whole Worker, not once per interval per Worker, while both serve requests', async () => {
    const before = switchable.state.probes;
    const started = Date.now();
    for (let i = 0; Date.now() - started < 4_000; i++) {
      await Promise.all([get(first.url, `/busy/${i}`), get(second.url, `/busy/${i}`)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const rounds = (Date.now() - started) / 1_000;
    const probes = switchable.state.probes - before;
    // The object's alarm: a probe per 1 s interval. Were each Worker to probe as well, about three times that.
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(Math.ceil(rounds) + 2);
  });

  it('takes a backend back when the object sees it pass again', async () => {
    switchable.state.healthy = true;
    await waitFor(async () => (await healthOf(second, switchable.address)) === 'up', 10_000, 'the object to see the backend up');
    await get(first.url, '/refresh');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const before = switchable.state.requests;
    for (let i = 0; i < 4; i++) await get(first.url, `/back/${i}`);
    expect(switchable.state.requests).toBeGreaterThan(before);
  });

  it('passes an ejection one Worker decides to the other, which then sends the backend nothing', async () => {
    switchable.state.failing = true;
    const failed = switchable.state.requests;
    // Round robin: the backend gets every other request of the first Worker, and fails two in a row.
    for (let i = 0; i < 8 && switchable.state.requests < failed + 2; i++) await get(first.url, `/fail/${i}`);
    expect(switchable.state.requests).toBe(failed + 2);
    // The first Worker tells the object with its next request; the second hears it at its next refresh.
    await get(first.url, '/tell');
    await waitFor(async () => (await healthOf(second, switchable.address)) === 'ejected', 5_000, 'the object to hold the ejection');
    await get(second.url, '/refresh');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const before = switchable.state.requests;
    for (let i = 0; i < 10; i++) expect((await get(second.url, `/ejected/${i}`)).status).toBe(200);
    expect(switchable.state.requests).toBe(before);
    switchable.state.failing = false;
  });

  it(`admits about ${RATE} requests a second in total across both Workers, one bucket per key`, async () => {
    let admitted = 0;
    let refused = 0;
    const seconds = 4;
    const started = Date.now();
    const client = async (worker: RuntimeBalancer) => {
      while (Date.now() - started < seconds * 1000) {
        const reply = await get(worker.url, '/limited/x', { 'x-client': 'one-key' });
        await reply.arrayBuffer();
        if (reply.status === 200) admitted++;
        else if (reply.status === 429) refused++;
        else throw new Error(`unexpected ${reply.status}`);
      }
    };
    await Promise.all([client(first), client(first), client(second), client(second)]);
    const elapsed = (Date.now() - started) / 1000;
    const allowed = BURST + RATE * elapsed;
    console.log(`shared limit: ${admitted} admitted, ${refused} refused in ${elapsed.toFixed(1)} s; ${allowed.toFixed(0)} allowed`);
    // Per-isolate buckets would admit about twice as many.
    expect(refused).toBeGreaterThan(admitted);
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(allowed * 0.9));
    expect(admitted).toBeLessThanOrEqual(Math.ceil(allowed * 1.1));
    // Another key has its own bucket.
    expect((await get(second.url, '/limited/x', { 'x-client': 'another-key' })).status).toBe(200);
  });

  it('answers /metrics and /status only to a request carrying admin.token; any other goes to the routes', async () => {
    for (const worker of [first, second]) {
      for (const headers of [{}, { authorization: 'Bearer not-the-token-at-all' }] as Record<string, string>[]) {
        const reply = await get(worker.url, '/metrics', headers);
        expect(reply.status).toBe(200);
        // A backend's answer (round robin: either one), not the Worker's.
        expect(await reply.text()).toMatch(/^switchable$|"url":"\/metrics"/);
      }
      const metrics = await get(worker.url, '/metrics', admin);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      expect(text).toMatch(/^switchyard_requests_total\{route="\/",code="2xx"\} [1-9]/m);
      // Every reason listed, whether or not a key's object failed to answer during the run.
      for (const reason of ['unreachable', 'timeout', 'error']) expect(text).toMatch(new RegExp(`^switchyard_store_fallbacks_total\\{reason="${reason}"\\} \\d+$`, 'm'));
      const basic = await get(worker.url, '/status', { authorization: `Basic ${btoa(`admin:${TOKEN}`)}` });
      expect(basic.status).toBe(200);
      expect(((await basic.json()) as { routes: unknown[] }).routes).toHaveLength(2);
    }
  });
});
