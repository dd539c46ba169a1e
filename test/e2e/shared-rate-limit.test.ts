import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestAuthority } from '../helpers/certificates.ts';
import { checkMetrics } from '../helpers/promtool.ts';
import { RespClient, startRedis, type RedisServer } from '../helpers/redisServer.ts';
import { serveProcess, type ServeProcess, type ServeRuntime } from '../helpers/serveProcess.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// Issue 16, points 2, 3 and 5, with real parts: Debian's redis-server on loopback (installed by
// .ci/run) and three `switchyard serve` processes (the build, or `deno task serve`; run `npm run
// build` first) sharing one rate limit through it. The limit holds in total over 10 seconds, not
// per process; Redis killed under load fails no request (each process falls back to its local
// buckets); Redis restarted is used again; rediss:// with a password from the environment works.

// store.timeout is long: accuracy is measured here, not how a machine busy with other test files
// answers within 100 ms (a slow answer falls back to local buckets, which the unit tests cover).
// Low enough that twelve clients in this test's process offer well over it on a machine loaded by
// other test files (about 100 requests/s at the worst seen).
const RATE = 50;
// A burst of half a second's worth: the clients may pause for a few hundred ms, and GCRA keeps no
// more credit than the burst through a pause.
const BURST = 25;
/** The processes of each balancer: two single ones and a `--workers 2`. */
const WORKERS = [1, 1, 2];

describe.each(['node', 'deno'] as const)('a rate limit shared by three balancers through Redis on %s', (runtime: ServeRuntime) => {
  let redis: RedisServer;
  let backend: TestBackend;
  const balancers: ServeProcess[] = [];

  beforeAll(async () => {
    [redis, backend] = await Promise.all([startRedis(), startTestBackend()]);
    const config = configFor(redis.url);
    // The third is a machine of two workers (`--workers 2`), each with its own connection and buckets.
    balancers.push(...(await Promise.all(WORKERS.map((workers) => serveProcess(runtime, config, { args: ['--admin', '127.0.0.1:0', '--access-log', 'off', '--workers', String(workers)], admin: true })))));
    await waitFor(async () => (await Promise.all(balancers.map(storeUp))).every((up) => up === 1), 15_000, 'every balancer to reach Redis');
  }, 60_000);

  const configFor = (url: string) => `
health_check: false
store: { redis: "${url}", timeout: 1s, fallback_share: 0.5 }
paths:
  - path: /
    servers: [${backend.address}]
    rate_limit: { requests: ${RATE}, per: 1s, burst: ${BURST} }
`;

  afterAll(async () => {
    await Promise.all(balancers.map((balancer) => balancer.stop()));
    await Promise.all([redis?.stop(), backend?.close()]);
  });

  it('admits the limit in total, within 10%, over more than 10 seconds', { timeout: 30_000 }, async () => {
    const started = performance.now();
    const counts = await load(balancers, 10_500);
    const seconds = (performance.now() - started) / 1000;
    const expected = BURST + RATE * seconds;
    if (process.env.SWITCHYARD_TEST_VERBOSE) console.log(`${runtime}: shared limit: ${counts.admitted} admitted (${counts.byBalancer.join(" + ")}), ${counts.limited} refused, over ${seconds.toFixed(2)} s; the limit allows ${expected.toFixed(0)}`);
    expect(counts.failed, `failures: ${counts.failures.slice(0, 5).join('; ')}`).toBe(0);
    expect(counts.limited).toBeGreaterThan(counts.admitted);
    // Each balancer alone would admit the whole limit: the total shows they share it.
    expect(counts.admitted).toBeGreaterThanOrEqual(expected * 0.9);
    expect(counts.admitted).toBeLessThanOrEqual(expected * 1.1);
    expect(counts.byBalancer.every((admitted) => admitted > 0)).toBe(true);
    for (const balancer of balancers) expect(await fallbacks(balancer)).toEqual({ unreachable: 0, timeout: 0, error: 0 });
  });

  it('fails no request while Redis is killed under load, says so, and shares the limit again once it is back', async () => {
    const running = load(balancers, 3_500);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await redis.kill();
    await waitFor(async () => (await Promise.all(balancers.map(storeUp))).every((up) => up === 0), 5_000, 'every balancer to see Redis gone');
    await new Promise((resolve) => setTimeout(resolve, 700));
    await redis.start();
    const counts = await running;
    expect(counts.failed, `failures: ${counts.failures.slice(0, 5).join('; ')}`).toBe(0);
    expect(counts.admitted).toBeGreaterThan(0);
    await waitFor(async () => (await Promise.all(balancers.map(storeUp))).every((up) => up === 1), 10_000, 'every balancer to reach Redis again');
    for (const [i, balancer] of balancers.entries()) {
      expect((await fallbacks(balancer)).unreachable).toBeGreaterThan(0);
      // fallback_share 0.5 per balancer: the workers of one share it out.
      const share = String(0.5 / WORKERS[i]).replace('.', '\\.');
      // Under --workers each worker's line names it, and the primary, which serves no request, speaks of health.
      const worker = WORKERS[i] > 1 ? ' \\(worker \\d\\)' : '';
      expect(balancer.stderr()).toMatch(new RegExp(`store${worker}: redis at redis://127\\.0\\.0\\.1:\\d+ is unreachable.*; rate limits fall back to local buckets holding ${share} of each limit\\n`));
      expect(balancer.stderr()).toMatch(new RegExp(`store${worker}: redis at redis://127\\.0\\.0\\.1:\\d+ is reachable; rate limits are shared again\\n`));
      if (WORKERS[i] > 1) expect(balancer.stderr()).toMatch(/store \(primary\): redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable.*; the machine's health stays its own\n/);
    }
    // Shared again: the new Redis runs the script (EVAL once after NOSCRIPT, then EVALSHA) for each limited request.
    const after = await load(balancers, 1_500);
    expect(after.failed).toBe(0);
    const client = await RespClient.connect(redis.port);
    const info = String(await client.command('INFO', 'commandstats'));
    client.close();
    const calls = [...info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
    expect(calls).toBeGreaterThanOrEqual(after.admitted + after.limited);
    expect(after.admitted).toBeLessThanOrEqual(BURST + RATE * 1.5 * 1.1 + 5);
  });

  it('moves to another Redis on a reload that changes the URL, under load, failing nothing', async () => {
    const other = await startRedis();
    try {
      const running = load(balancers, 2_500);
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const balancer of balancers) {
        await writeFile(balancer.file, configFor(other.url));
        balancer.hangUp();
      }
      await waitFor(() => balancers.every((balancer) => /config reloaded \(SIGHUP\)/.test(balancer.stderr())), 5_000, 'every balancer to reload');
      const counts = await running;
      expect(counts.failed, `failures: ${counts.failures.slice(0, 5).join('; ')}`).toBe(0);
      const calls = async (server: RedisServer) => {
        const client = await RespClient.connect(server.port);
        const info = String(await client.command('INFO', 'commandstats'));
        const clients = String(await client.command('CLIENT', 'LIST')).trim().split('\n').length - 1;
        client.close();
        return { calls: [...info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0), clients };
      };
      // The new Redis took the limit over; the old one lost the balancers' connections (only ours is left).
      expect((await calls(other)).calls).toBeGreaterThan(0);
      await waitFor(async () => (await calls(redis)).clients === 0, 5_000, 'the old connections to close');
      for (const balancer of balancers) expect(await storeUp(balancer)).toBe(1);
    } finally {
      for (const balancer of balancers) await writeFile(balancer.file, configFor(redis.url));
      await other.stop();
    }
  });

  it('writes the store metrics, which pass promtool', async () => {
    const text = await (await fetch(`${balancers[0].adminUrl}/metrics`)).text();
    expect(text).toMatch(/^# TYPE switchyard_store_up gauge$/m);
    expect(text).toMatch(/^# TYPE switchyard_store_fallbacks_total counter$/m);
    for (const reason of ['unreachable', 'timeout', 'error']) expect(text).toMatch(new RegExp(`^switchyard_store_fallbacks_total\\{reason="${reason}"\\} \\d+$`, 'm'));
    expect(await checkMetrics(text)).toEqual({ code: 0, output: '' });
  });
});

describe.each(['node', 'deno'] as const)('a store over TLS with a password from the environment on %s', (runtime: ServeRuntime) => {
  let redis: RedisServer;
  let backend: TestBackend;
  let balancer: ServeProcess;
  const password = 'pass word/with:reserved@characters';

  beforeAll(async () => {
    const authority = await createTestAuthority();
    const certificate = await authority.issue('127.0.0.1', { names: ['127.0.0.1'] });
    [redis, backend] = await Promise.all([startRedis({ tls: { ...certificate, ca: authority.caCert }, password }), startTestBackend()]);
    // The URL's password is percent-encoded in the environment, as docs/fleet.md says; the CA is trusted the runtime's way.
    const env = { REDIS_PASSWORD: encodeURIComponent(password), NODE_EXTRA_CA_CERTS: authority.caCert, DENO_CERT: authority.caCert };
    const config = `
health_check: false
store: { redis: "${redis.tlsUrl!.replace('//', '//:${env:REDIS_PASSWORD}@')}", timeout: 1s }
paths:
  - path: /
    servers: [${backend.address}]
    rate_limit: { requests: 1, per: 1m, burst: 2 }
`;
    balancer = await serveProcess(runtime, config, { args: ['--admin', '127.0.0.1:0', '--access-log', 'off'], admin: true, env });
    await waitFor(async () => (await storeUp(balancer)) === 1, 15_000, 'the balancer to reach Redis over TLS');
  }, 60_000);

  afterAll(async () => {
    await balancer?.stop();
    await Promise.all([redis?.stop(), backend?.close()]);
  });

  it('keeps the limit in the Redis it reached with rediss:// and the password, which the log line hides', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${balancer.url}/`)).status);
    expect(statuses).toEqual([200, 200, 429]);
    const client = await RespClient.connect(redis.port, password);
    const info = String(await client.command('INFO', 'commandstats'));
    client.close();
    expect([...info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0)).toBe(3);
    expect(balancer.stderr()).toMatch(/store: redis at rediss:\/\/\S*127\.0\.0\.1:\d+ is reachable; rate limits are shared\n/);
    expect(balancer.stderr()).not.toContain(encodeURIComponent(password));
  });
});

/** `switchyard_store_up` from a balancer's /metrics. */
async function storeUp(balancer: ServeProcess): Promise<number | undefined> {
  const text = await (await fetch(`${balancer.adminUrl}/metrics`)).text();
  const match = /^switchyard_store_up (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

async function fallbacks(balancer: ServeProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${balancer.adminUrl}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^switchyard_store_fallbacks_total\{reason="(\w+)"\} (\d+)$/gm)].map((match) => [match[1], Number(match[2])]));
}

/** Four clients per balancer sending requests one after another for `ms`: 200s, 429s and anything else. */
async function load(balancers: readonly ServeProcess[], ms: number) {
  const counts = { admitted: 0, limited: 0, failed: 0, failures: [] as string[], byBalancer: balancers.map(() => 0) };
  const until = performance.now() + ms;
  const client = async (balancer: ServeProcess, index: number) => {
    while (performance.now() < until) {
      try {
        const response = await fetch(`${balancer.url}/`);
        await response.arrayBuffer();
        if (response.status === 200) {
          counts.admitted++;
          counts.byBalancer[index]++;
        } else if (response.status === 429) counts.limited++;
        else {
          counts.failed++;
          counts.failures.push(`status ${response.status}`);
        }
      } catch (error) {
        counts.failed++;
        counts.failures.push(String(error));
      }
    }
  };
  await Promise.all(balancers.flatMap((balancer, index) => [0, 1, 2, 3].map(() => client(balancer, index))));
  return counts;
}
