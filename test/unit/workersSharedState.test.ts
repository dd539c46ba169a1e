import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SwitchyardState } from '../../src/workers/SwitchyardState.ts';
import { configHash } from '../../src/workers/SwitchyardState.ts';
import { HealthCache } from '../../src/workers/HealthCache.ts';
import { isolateBalancer } from '../../src/workers/isolateBalancer.ts';
import { SharedHealth } from '../../src/workers/SharedHealth.ts';
import { fetchUpstream } from '../../src/core/proxy/fetchUpstream.ts';
import worker from '../../src/workers.ts';
import { DurableRateLimits } from '../../src/workers/DurableRateLimits.ts';
import { loadWorkerConfig, workerConfigSource } from '../../src/workers/workerConfig.ts';
import type { DurableObjectNamespace, DurableObjectStub } from '../../src/workers/workersTypes.ts';
import type { IsolateReport, SharedStateObject } from '../../src/workers/stateMessages.ts';
import type { LoadedConfig } from '../../src/core/config/loadConfig.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { deadPort } from '../helpers/deadPort.ts';
import { checkMetrics } from '../helpers/promtool.ts';

// The Worker's shared state without workerd: the Durable Object class called directly, as its
// stub would, by isolates made of the same config (each compiles its own, as isolates do).

/** A Durable Object's `ctx`, as far as alarms go. */
function objectContext() {
  let alarm: number | null = null;
  return { storage: { getAlarm: async () => alarm, setAlarm: async (at: number) => void (alarm = at) }, waitUntil() {}, alarm: () => alarm };
}

/** An isolate: its own compiled config, and its copy of the object's verdicts. */
function isolate(env: { LB_CONFIG: string; [binding: string]: string }, stub: () => DurableObjectStub<SharedStateObject>, log: (line: string) => void = () => {}) {
  const source = workerConfigSource(env, '');
  const reads = new Map<string, string | undefined>();
  const loaded = loadWorkerConfig(env, { ...source, text: env.LB_CONFIG }, { read: (name, value) => reads.set(name, value) });
  if (!loaded.ok) throw new Error(loaded.problem);
  const cache = new HealthCache(loaded.config, configHash(source.key, reads), stub, { ttlMs: 1_000, staleAfterMs: 10_000, log });
  return { config: loaded.config, cache };
}

const backendOf = (config: LoadedConfig, address: string) => config.backends.find((backend) => backend.id === `http://${address}`)!;

describe("the SWITCHYARD_STATE object and the isolates' copies", () => {
  let live: TestBackend;
  let dead: string;
  let env: { LB_CONFIG: string };

  beforeAll(async () => {
    live = await startTestBackend('live');
    dead = `127.0.0.1:${await deadPort()}`;
    env = {
      LB_CONFIG: JSON.stringify({
        health_check: { interval: '2s', unhealthy_threshold: 1 },
        passive_health: { failures: 2, cooldown: '30s' },
        paths: [{ path: '/', servers: [live.address, dead] }],
      }),
    };
  });
  afterAll(() => live?.close());
  afterEach(() => void vi.useRealTimers());

  it('arms its alarm at the first sync, probes from it, and sets the next one an interval on', async () => {
    const ctx = objectContext();
    const state = new SwitchyardState(ctx as never, env);
    const before = Date.now();
    const view = await state.sync({ config: 0, ejections: [], traffic: { requests: [], rateLimited: [], tries: [], fallbacks: [] } });
    expect(view?.backends.map((backend) => backend.state)).toEqual(['unknown', 'unknown']);
    expect(ctx.alarm()).toBeGreaterThanOrEqual(before);
    await state.alarm();
    expect(ctx.alarm()).toBeGreaterThanOrEqual(before + 2_000);
    expect(live.seen.filter((seen) => seen.url === '/healthcheck').length).toBeGreaterThanOrEqual(1);
  });

  it("probes each backend at its own interval, not every backend at the shortest", async () => {
    const slow = await startTestBackend('slow');
    try {
      const text = JSON.stringify({
        paths: [
          { path: '/fast', servers: [live.address], health_check: { interval: '2s' } },
          { path: '/slow', servers: [slow.address], health_check: { interval: '60s' } },
        ],
      });
      const { config } = isolate({ LB_CONFIG: text }, () => ({}) as never);
      const shared = new SharedHealth(config, 0, { source: 'LB_CONFIG', upstream: fetchUpstream(), log: () => {} });
      const probesOf = (backend: TestBackend) => backend.seen.filter((seen) => seen.url === '/healthcheck').length;
      const [fast0, slow0] = [probesOf(live), probesOf(slow)];
      const t0 = Date.now();
      await shared.probe(t0);
      expect(shared.nextProbeAt).toBe(t0 + 2_000);
      await shared.probe(t0 + 2_000);
      await shared.probe(t0 + 4_000);
      expect([probesOf(live) - fast0, probesOf(slow) - slow0]).toEqual([3, 1]);
      expect(shared.nextProbeAt).toBe(t0 + 6_000);
      await shared.probe(t0 + 60_000);
      expect(probesOf(slow) - slow0).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it('gives every isolate the same verdicts, and an ejection one isolate decides reaches the other', async () => {
    const state = new SwitchyardState(objectContext() as never, env);
    const stub = () => state as unknown as DurableObjectStub<SharedStateObject>;
    const [one, two] = [isolate(env, stub), isolate(env, stub)];
    await state.alarm();
    await Promise.all([one.cache.syncNow(), two.cache.syncNow()]);
    for (const { config, cache } of [one, two]) {
      expect(cache.following).toBe(true);
      expect(backendOf(config, dead).health.state).toBe('down');
      expect(backendOf(config, live.address).health.state).toBe('up');
    }
    // Passive health in isolate one: two failed requests in a row eject the live backend there.
    const ejected = backendOf(one.config, live.address).health;
    ejected.recordFailure('GET / -> 502');
    ejected.recordFailure('GET / -> 502');
    expect(ejected.isEjected(Date.now())).toBe(true);
    // Told at its next request, whatever the TTL; then the other isolate hears it at its next sync.
    await one.cache.syncIfStale(Date.now());
    expect(backendOf(two.config, live.address).health.isEjected(Date.now())).toBe(false);
    await two.cache.syncNow();
    expect(backendOf(two.config, live.address).health.isEjected(Date.now())).toBe(true);
    expect(backendOf(two.config, live.address).health.ejectedUntil).toBe(ejected.ejectedUntil);
    expect(state.metrics()).toMatch(new RegExp(`^switchyard_backend_ejections_total\\{backend="${live.address}"\\} 1$`, 'm'));
  });

  it('sums the traffic every isolate reports into /metrics, which promtool accepts', async () => {
    const state = new SwitchyardState(objectContext() as never, env);
    const stub = () => state as unknown as DurableObjectStub<SharedStateObject>;
    const [one, two] = [isolate(env, stub), isolate(env, stub)];
    const record = { route: one.config.routesInOrder[0], status: 200, refusedBy: undefined, attempts: [] } as never;
    one.cache.tally.observe(record);
    one.cache.tally.observe(record);
    two.cache.tally.observe({ route: two.config.routesInOrder[0], status: 429, refusedBy: 'rate_limit', attempts: [] } as never);
    await Promise.all([one.cache.syncNow(), two.cache.syncNow()]);
    const text = state.metrics()!;
    expect(text).toContain('switchyard_requests_total{route="/",code="2xx"} 2');
    expect(text).toContain('switchyard_requests_total{route="/",code="4xx"} 1');
    expect(text).toContain('switchyard_rate_limited_total{route="/"} 1');
    expect(await checkMetrics(text)).toEqual({ code: 0, output: '' });
  });

  it("goes by its own health while the object does not answer, says so once, and follows it again when it does", async () => {
    const lines: string[] = [];
    let answering = false;
    const state = new SwitchyardState(objectContext() as never, env);
    const stub = () => ({ sync: (report: never) => (answering ? state.sync(report) : Promise.reject(new Error('Durable Object reset'))) }) as unknown as DurableObjectStub<SharedStateObject>;
    const { cache } = isolate(env, stub, (line) => lines.push(line));
    cache.tally.observe({ route: undefined, status: 404, attempts: [] } as never);
    await cache.syncNow();
    await cache.syncNow();
    expect(cache.following).toBe(false);
    expect(lines).toEqual(["switchyard: the SWITCHYARD_STATE Durable Object does not answer (Durable Object reset); health: this isolate's own until it does"]);
    answering = true;
    await cache.syncNow();
    expect(cache.following).toBe(true);
    expect(lines[1]).toBe('switchyard: the SWITCHYARD_STATE Durable Object answers again; health: shared again (2 failed calls meanwhile)');
    // The counts it could not deliver went with the next report.
    expect(state.metrics()).toContain('switchyard_requests_total{route="(none)",code="4xx"} 1');
  });

  it('adopts nothing from an object whose config reads other binding values (a secret rolled out gradually)', async () => {
    const text = JSON.stringify({ health_check: { interval: '2s', unhealthy_threshold: 1 }, paths: [{ path: '/', servers: ['${env:FIRST}', live.address] }] });
    const state = new SwitchyardState(objectContext() as never, { LB_CONFIG: text, FIRST: dead });
    await state.alarm();
    const other = isolate({ LB_CONFIG: text, FIRST: '127.0.0.1:1' }, () => state as unknown as DurableObjectStub<SharedStateObject>);
    await other.cache.syncNow();
    expect(other.cache.following).toBe(false);
    const same = isolate({ LB_CONFIG: text, FIRST: dead }, () => state as unknown as DurableObjectStub<SharedStateObject>);
    await same.cache.syncNow();
    expect(same.cache.following).toBe(true);
    expect(backendOf(same.config, dead).health.state).toBe('down');
  });

  it("stops following a view whose probes are older than the bound, probing itself, says so once, and follows again when they are fresh", async () => {
    const state = new SwitchyardState(objectContext() as never, env);
    await state.alarm();
    let age = 60_000;
    const lines: string[] = [];
    const stub = () => ({ sync: async (report: never) => ({ ...(await state.sync(report))!, probedAt: Date.now() - age }) }) as unknown as DurableObjectStub<SharedStateObject>;
    const { config, cache } = isolate(env, stub, (line) => lines.push(line));
    await cache.syncNow();
    await cache.syncNow();
    expect(cache.following).toBe(false);
    expect(backendOf(config, dead).health.state).toBe('unknown');
    expect(lines).toEqual([expect.stringMatching(/^switchyard: the SWITCHYARD_STATE Durable Object's last probe round ended 60 s ago; health: this isolate's own probes/)]);
    age = 0;
    await cache.syncNow();
    expect(cache.following).toBe(true);
    expect(backendOf(config, dead).health.state).toBe('down');
    expect(lines.slice(1)).toEqual(['switchyard: the SWITCHYARD_STATE Durable Object probes again; health: shared again']);
  });

  it('re-arms an alarm that is set but has not fired for two rounds', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const ctx = objectContext();
    const state = new SwitchyardState(ctx as never, env);
    const report = { config: 0, ejections: [], traffic: { requests: [], rateLimited: [], tries: [], fallbacks: [] } };
    await state.sync(report);
    await ctx.storage.setAlarm(Date.now() + 3_600_000);
    vi.advanceTimersByTime(5_000);
    await state.sync(report);
    expect(ctx.alarm()).toBe(Date.now() + 3_600_000 - 5_000);
    // Rounds of 2 s + a 1 s timeout: none for more than two of them is late.
    vi.advanceTimersByTime(2_000);
    await state.sync(report);
    expect(ctx.alarm()).toBe(Date.now());
  });

  it('calls an object that fails at most once per TTL, even with an ejection to tell, and drops ejections whose cool-down is over', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const reports: IsolateReport[] = [];
    const stub = () => ({ sync: async (report: IsolateReport) => (reports.push(report), Promise.reject(new Error('overloaded'))) }) as unknown as DurableObjectStub<SharedStateObject>;
    const quick = { LB_CONFIG: JSON.stringify({ passive_health: { failures: 1, cooldown: '2s' }, paths: [{ path: '/', servers: [live.address, dead] }] }) };
    const { config, cache } = isolate(quick, stub);
    await cache.syncNow();
    backendOf(config, live.address).health.recordFailure('GET / -> 502');
    // The news goes at the next request; the requests after it, within the TTL, call nobody.
    for (let i = 0; i < 20; i++) {
      void cache.syncIfStale(Date.now());
      await vi.advanceTimersByTimeAsync(40);
    }
    expect(reports).toHaveLength(2);
    expect(reports[1]!.ejections.map((ejection) => ejection.backend)).toEqual([`http://${live.address}`]);
    // A TTL later the ejection is still pending and goes again; once its cool-down is over it does not.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reports).toHaveLength(3);
    expect(reports[2]!.ejections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_500);
    void cache.syncIfStale(Date.now());
    await vi.advanceTimersByTimeAsync(0);
    expect(reports).toHaveLength(4);
    expect(reports[3]!.ejections).toEqual([]);
  });

  it('adopts nothing from an object that serves another config (a deployment rolling out), and says when it serves this one', async () => {
    let state = new SwitchyardState(objectContext() as never, { LB_CONFIG: env.LB_CONFIG.replace('"2s"', '"3s"') });
    await state.alarm();
    const lines: string[] = [];
    const { config, cache } = isolate(env, () => state as unknown as DurableObjectStub<SharedStateObject>, (line) => lines.push(line));
    await cache.syncNow();
    await cache.syncNow();
    expect(cache.following).toBe(false);
    expect(backendOf(config, dead).health.state).toBe('unknown');
    expect(lines).toEqual([expect.stringMatching(/serves another config/)]);
    state = new SwitchyardState(objectContext() as never, env);
    await state.alarm();
    await cache.syncNow();
    expect(cache.following).toBe(true);
    expect(lines.slice(1)).toEqual(['switchyard: the SWITCHYARD_STATE Durable Object serves this config now; health: shared again']);
  });
});

describe('rate limits in Durable Objects', () => {
  afterEach(() => void vi.useRealTimers());
  /** A namespace whose objects are SwitchyardState instances, counting the calls each gets. */
  function namespace(fail = false) {
    const objects = new Map<string, SwitchyardState>();
    const calls: string[] = [];
    const ns = {
      idFromName: (name: string) => ({ toString: () => name }),
      get: (id: { toString(): string }) => {
        const name = id.toString();
        if (!objects.has(name)) objects.set(name, new SwitchyardState(objectContext() as never, {}));
        const object = objects.get(name)!;
        return {
          take: async (limit: string, policy: never) => {
            calls.push(name);
            if (fail) throw new Error('overloaded');
            return object.take(limit, policy);
          },
        };
      },
    } as unknown as DurableObjectNamespace<SharedStateObject>;
    return { ns, calls, objects };
  }
  const policy = { requests: 1, perMs: 60_000, burst: 2 };

  it('keeps one object per limit and key, and remembers a refusal until its bucket could admit, asking no more till then', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { ns, calls, objects } = namespace();
    const limits = new DurableRateLimits(ns, () => {});
    expect(await limits.take('paths[0]', 'ip:a', policy)).toBe(0);
    expect(await limits.take('paths[0]', 'ip:a', policy)).toBe(0);
    const wait = await limits.take('paths[0]', 'ip:a', policy);
    expect(wait).toBeGreaterThan(50_000);
    vi.advanceTimersByTime(wait! - 1);
    expect(await limits.take('paths[0]', 'ip:a', policy)).toBe(1);
    expect(calls).toHaveLength(3);
    // Once the bucket could admit, the object is asked again, and admits.
    vi.advanceTimersByTime(1);
    expect(await limits.take('paths[0]', 'ip:a', policy)).toBe(0);
    expect(calls).toHaveLength(4);
    expect(await limits.take('paths[0]', 'ip:b', policy)).toBe(0);
    expect(objects.size).toBe(2);
  });

  it('remembers at most 10,000 refusals, forgetting the oldest first', async () => {
    const { ns, calls } = namespace();
    const limits = new DurableRateLimits(ns, () => {});
    const once = { requests: 1, perMs: 60_000, burst: 1 };
    for (let i = 0; i <= 10_000; i++) {
      await limits.take('paths[0]', `ip:${i}`, once);
      expect(await limits.take('paths[0]', `ip:${i}`, once)).toBeGreaterThan(0);
    }
    // The newest refusal is remembered (no call); the oldest was forgotten (a call).
    const before = calls.length;
    await limits.take('paths[0]', 'ip:10000', once);
    expect(calls).toHaveLength(before);
    await limits.take('paths[0]', 'ip:0', once);
    expect(calls).toHaveLength(before + 1);
  });

  it("answers undefined (this isolate's buckets decide) when the object fails, said once", async () => {
    const { ns } = namespace(true);
    const lines: string[] = [];
    const limits = new DurableRateLimits(ns, (line) => lines.push(line));
    expect(limits.fallbackShare).toBe(1);
    expect(await limits.take('paths[0]', 'ip:a', policy)).toBeUndefined();
    expect(await limits.take('paths[0]', 'ip:a', policy)).toBeUndefined();
    expect(lines).toEqual(["switchyard: the SWITCHYARD_STATE Durable Object does not answer (overloaded); rate limits: this isolate's own until it does"]);
  });

  it('logs one line, not one per request, while one key\'s object fails and the others answer, and one when all have answered for a minute', async () => {
    let now = 1_000_000;
    const lines: string[] = [];
    const answering = namespace();
    const ns = {
      idFromName: answering.ns.idFromName,
      get: (id: { toString(): string }) => (id.toString().endsWith('hot') ? { take: async () => Promise.reject(new Error('overloaded')) } : answering.ns.get(id as never)),
    } as unknown as DurableObjectNamespace<SharedStateObject>;
    const limits = new DurableRateLimits(ns, (line) => lines.push(line), { now: () => now });
    const roomy = { requests: 1_000, perMs: 1_000, burst: 1_000 };
    for (let i = 0; i < 10; i++) {
      expect(await limits.take('paths[0]', 'hot', roomy)).toBeUndefined();
      expect(await limits.take('paths[0]', 'cold', roomy)).toBe(0);
      now += 1_000;
    }
    expect(lines).toEqual(["switchyard: the SWITCHYARD_STATE Durable Object does not answer (overloaded); rate limits: this isolate's own until it does"]);
    now += 60_000;
    await limits.take('paths[0]', 'cold', roomy);
    await limits.take('paths[0]', 'cold', roomy);
    expect(lines.slice(1)).toEqual(['switchyard: the SWITCHYARD_STATE Durable Object answers again; rate limits: shared again (10 failed calls meanwhile)']);
  });
});

describe('an isolate with the SWITCHYARD_STATE binding', () => {
  let live: TestBackend;
  beforeAll(async () => {
    live = await startTestBackend('live');
  });
  afterAll(() => live?.close());

  const probes = () => live.seen.filter((seen) => seen.url === '/healthcheck').length;
  /** A Worker's env whose binding reaches `object` (or a stub that rejects every call), with a config of its own per test (isolateBalancer keeps one). */
  const workerEnv = (path: string, object: () => unknown) => {
    const env: Record<string, unknown> = { LB_CONFIG: JSON.stringify({ health_check: { interval: '1s' }, paths: [{ path, servers: [live.address] }] }) };
    env.SWITCHYARD_STATE = { idFromName: (name: string) => ({ toString: () => name }), get: () => object() };
    return env as { LB_CONFIG: string };
  };
  const rejecting = { sync: () => Promise.reject(new Error('Durable Object reset')) };

  it('runs no probes of its own while the object answers, however long since its last round', async () => {
    const env = workerEnv('/answering', () => state);
    const state = new SwitchyardState(objectContext() as never, env);
    await state.alarm();
    const balancer = isolateBalancer(env as never, '', () => {});
    if (!balancer.ok) throw new Error(balancer.problem);
    const before = probes();
    for (let i = 1; i <= 5; i++) await balancer.probeIfStale(Date.now() + i * 10_000);
    expect(balancer.shared?.following).toBe(true);
    expect(probes()).toBe(before);
  });

  it('probes itself once the object fails to answer, a round per interval, from requests and from the cron', async () => {
    const env = workerEnv('/failing', () => rejecting);
    const balancer = isolateBalancer(env as never, '', () => {});
    if (!balancer.ok) throw new Error(balancer.problem);
    const start = Date.now();
    await balancer.probeIfStale(start);
    expect(balancer.shared?.following).toBe(false);
    const before = probes();
    await balancer.probeIfStale(start + 10_000);
    await balancer.probeIfStale(start + 10_500);
    expect(probes()).toBe(before + 1);
    const rounds: Promise<unknown>[] = [];
    worker.scheduled({} as never, env as never, { waitUntil: (promise: Promise<unknown>) => void rounds.push(promise) } as never);
    await Promise.all(rounds);
    expect(probes()).toBe(before + 2);
  });
});
