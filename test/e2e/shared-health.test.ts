import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redisServer.ts';
import { serveProcess, type ServeProcess, type ServeRuntime } from '../helpers/serveProcess.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// Issue 16, point 2 (health), with real parts: Debian's redis-server on loopback (installed by
// .ci/run) and three `switchyard serve` processes (the build, or `deno task serve`) sharing
// health through it. Only the first probes often (every 300 ms); the others every 30 s, so what
// they know within seconds they can only have heard. Run `npm run build` first.

const FAST = 300;
const SLOW = 30_000;

describe.each(['node', 'deno'] as const)('health shared through Redis by three balancers on %s', (runtime: ServeRuntime) => {
  let redis: RedisServer;
  let dead: TestBackend;
  let sick: TestBackend;
  let live: TestBackend[] = [];
  const balancers: ServeProcess[] = [];

  const configFor = (interval: number) => `
health_check: { interval: ${interval}ms, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1 }
store: { redis: "${redis.url}", timeout: 1s }
paths:
  - path: /status
    servers: [${sick.address}]
    health_check: false
    retries: false
    passive_health: { failures: 3, cooldown: 1m }
  - path: /
    algorithm: round_robin
    passive_health: false
    servers: [${dead.address}, ${live.map((backend) => backend.address).join(', ')}]
`;
  const start = (interval: number, workers = 1) => serveProcess(runtime, configFor(interval), { args: ['--admin', '127.0.0.1:0', '--access-log', 'off', '--workers', String(workers)], admin: true });

  beforeAll(async () => {
    [redis, dead, sick, ...live] = await Promise.all([startRedis(), startTestBackend('dead'), startTestBackend('sick'), startTestBackend('b'), startTestBackend('c')]);
    // The third is a machine of two workers: its primary hears the fleet and tells its workers.
    balancers.push(...(await Promise.all([start(FAST), start(SLOW), start(SLOW, 2)])));
    await waitFor(async () => (await Promise.all(balancers.map((balancer) => metric(balancer, 'switchyard_store_up')))).every((up) => up === 1), 15_000, 'every balancer to reach Redis');
    // A first probe may time out on a machine busy starting three balancers: the test starts from every backend up.
    const everyUp = async (balancer: ServeProcess) => (await Promise.all([dead, ...live].map((backend) => metric(balancer, 'switchyard_backend_up', backend.address)))).every((up) => up === 1);
    await waitFor(async () => (await Promise.all(balancers.map(everyUp))).every(Boolean), 15_000, 'every backend up on every balancer');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(balancers.map((balancer) => balancer.stop()));
    await Promise.all([redis?.stop(), dead?.close(), sick?.close(), ...live.map((backend) => backend.close())]);
  });

  it('takes a killed backend out on every balancer within seconds, though only one probes it that often; none sends it a request after', async () => {
    const killedAt = performance.now();
    await dead.close();
    const downOn = await Promise.all(
      balancers.map(async (balancer) => {
        await waitFor(async () => (await metric(balancer, 'switchyard_backend_up', dead.address)) === 0, 10_000, 'the killed backend to be down');
        return performance.now() - killedAt;
      }),
    );
    if (process.env.SWITCHYARD_TEST_VERBOSE) console.log(`${runtime}: down on every balancer after ${downOn.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    // Two failed checks 300 ms apart on the first, then a message; generous for a loaded machine,
    // and still a sixth of the others' own interval, after which their own probes would start.
    const bound = 2 * FAST + 4_000;
    expect(bound).toBeLessThanOrEqual(SLOW / 6);
    for (const ms of downOn) expect(ms).toBeLessThan(bound);
    for (const balancer of balancers.slice(1)) {
      expect(balancer.stderr()).toMatch(new RegExp(`health: http://${dead.address} is DOWN: \\S+ found it down: GET /healthcheck -> .* \\(2 failed checks in a row\\)\\n`));
    }
    const before = await Promise.all(balancers.map((balancer) => metric(balancer, 'switchyard_backend_requests_total', dead.address)));
    for (const balancer of balancers) {
      for (let i = 0; i < 9; i++) expect(await get(balancer, '/')).toMatchObject({ status: 200 });
    }
    const after = await Promise.all(balancers.map((balancer) => metric(balancer, 'switchyard_backend_requests_total', dead.address)));
    expect(after).toEqual(before);
  });

  it('ejects a backend on every balancer when one sees it fail real requests', async () => {
    for (let i = 0; i < 3; i++) expect((await get(balancers[1], '/status/503')).status).toBe(503);
    for (const balancer of balancers) {
      await waitFor(async () => (await metric(balancer, 'switchyard_backend_up', sick.address)) === 0, 5_000, 'the sick backend to be ejected');
    }
    // switchyard_backend_up 0 on every balancer is the proof: a request cannot tell, since the
    // route's only backend ejected is still tried (panic mode) whether or not it is ejected.
    expect(balancers[0].stderr()).toMatch(new RegExp(`health: http://${sick.address} ejected for 60s: ejected by \\S+: .*\\(3 failed requests in a row\\)\\n`));
  });

  it('drains a backend through one balancer’s admin API and stops its traffic through the others; undrains it as well', async () => {
    const [b, c] = live;
    const drained = await fetch(`${balancers[0].adminUrl}/api/backends/${b.address}/drain`, { method: 'POST' });
    expect(drained.status).toBe(200);
    await waitFor(() => balancers.slice(1).every((balancer) => balancer.stderr().includes(`health: http://${b.address} drained by`)), 5_000, 'the others to hear of the drain');
    for (const balancer of balancers.slice(1)) {
      const names = [];
      for (let i = 0; i < 6; i++) names.push((await get(balancer, '/')).name);
      expect(names).toEqual(Array(6).fill(c.name));
    }
    expect((await fetch(`${balancers[2].adminUrl}/api/backends/${b.address}/undrain`, { method: 'POST' })).status).toBe(200);
    await waitFor(() => balancers[1].stderr().includes(`health: http://${b.address} undrained by`), 5_000, 'the others to hear of the undrain');
    const names = new Set<string | undefined>();
    for (let i = 0; i < 6; i++) names.add((await get(balancers[1], '/')).name);
    expect([...names].sort()).toEqual([b.name, c.name]);
  });

  it('writes what it holds into a Redis restarted empty, where a balancer started then finds it', async () => {
    const [b, c] = live;
    expect((await fetch(`${balancers[0].adminUrl}/api/backends/${c.address}/drain`, { method: 'POST' })).status).toBe(200);
    await redis.kill();
    await redis.start();
    await waitFor(async () => (await Promise.all(balancers.map((balancer) => metric(balancer, 'switchyard_store_up')))).every((up) => up === 1), 15_000, 'every balancer to reach Redis again');
    const late = await start(SLOW);
    try {
      await waitFor(() => late.stderr().includes(`health: http://${c.address} drained by`), 10_000, 'the late balancer to read the drain');
      for (let i = 0; i < 4; i++) expect((await get(late, '/')).name).toBe(b.name);
    } finally {
      await late.stop();
    }
  });

  it('keeps a backend in for the fleet when a balancer that starts fails its first checks (its own network not ready yet)', async () => {
    const [b] = live;
    // Its probes fail where the others' pass: the same backend, a path that answers 503.
    const booting = await serveProcess(runtime, configFor(FAST).replace('healthy_threshold: 1 }', 'healthy_threshold: 1, path: /status/503 }'), { args: ['--admin', '127.0.0.1:0', '--access-log', 'off'], admin: true });
    try {
      await waitFor(async () => (await metric(booting, 'switchyard_backend_up', b.address)) === 0, 10_000, 'the booting balancer to find it down');
      // Several of its failed probes later (every 300 ms), the others still have it, and serve.
      await new Promise((resolve) => setTimeout(resolve, 3 * FAST));
      for (const balancer of balancers) {
        expect(await metric(balancer, 'switchyard_backend_up', b.address)).toBe(1);
        expect((await get(balancer, '/')).status).toBe(200);
      }
      expect(balancers.some((balancer) => balancer.stderr().includes(`health: http://${b.address} is DOWN`))).toBe(false);
    } finally {
      await booting.stop();
    }
  });
});

/** A sample of the balancer's /metrics: the one with `backend` when given, else the unlabeled one. */
async function metric(balancer: ServeProcess, name: string, backend?: string): Promise<number | undefined> {
  const text = await (await fetch(`${balancer.adminUrl}/metrics`)).text();
  const samples = [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].filter((match) => (backend ? match[1]?.includes(`backend="${backend}"`) : !match[1]));
  return samples.length === 0 ? undefined : samples.reduce((sum, match) => sum + Number(match[2]), 0);
}

async function get(balancer: ServeProcess, path: string): Promise<{ status: number; name?: string }> {
  const response = await fetch(`${balancer.url}${path}`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return { status: response.status, name: response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as { name: string }).name : undefined };
}
