import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DurableRateLimits } from '../../src/workers/DurableRateLimits.ts';
import { isolateBalancer } from '../../src/workers/isolateBalancer.ts';
import type { SharedStateObject } from '../../src/workers/stateMessages.ts';
import { SwitchyardState } from '../../src/workers/SwitchyardState.ts';
import { TrafficTally } from '../../src/workers/TrafficTally.ts';
import type { DurableObjectNamespace } from '../../src/workers/workersTypes.ts';
import type { FallbackReason } from '../../src/core/RateLimitStore.ts';
import { checkMetrics } from '../helpers/promtool.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';

// switchyard_store_fallbacks_total on Workers: limited requests an isolate's own buckets answered
// because a key's Durable Object could not, counted in the isolate, reported with its syncs to the
// `health` object (put back when a sync fails) and summed there for the Worker's /metrics.

/** A Durable Object's `ctx`, as far as alarms go. */
const objectContext = () => {
  let alarm: number | null = null;
  return { storage: { getAlarm: async () => alarm, setAlarm: async (at: number) => void (alarm = at) }, waitUntil() {} };
};

/** The `switchyard_store_fallbacks_total` samples of a /metrics text, by reason. */
const fallbacksIn = (text: string) =>
  Object.fromEntries([...text.matchAll(/^switchyard_store_fallbacks_total\{reason="(\w+)"\} (\d+)$/gm)].map(([, reason, count]) => [reason, Number(count)]));

/** How a `rate_limit` object behaves: it answers (a real bucket), never answers, or fails. */
type KeyObject = 'answers' | 'hangs' | 'fails';

describe('rate-limit fallbacks counted by reason', () => {
  afterEach(() => void vi.useRealTimers());
  const policy = { requests: 1, perMs: 60_000, burst: 1 };

  function limitsWith(objects: Record<string, KeyObject>) {
    const seen: FallbackReason[] = [];
    const state = new SwitchyardState(objectContext() as never, {});
    const ns = {
      idFromName: (name: string) => ({ toString: () => name }),
      get: (id: { toString(): string }) => {
        const behaviour = objects[id.toString().split('\n')[2]!];
        if (behaviour === undefined) throw new Error('the binding refused the call');
        return {
          take: async (limit: string, p: never) => (behaviour === 'hangs' ? new Promise(() => {}) : behaviour === 'fails' ? Promise.reject(new Error('Durable Object is overloaded')) : state.take(limit, p)),
        };
      },
    } as unknown as DurableObjectNamespace<SharedStateObject>;
    return { limits: new DurableRateLimits(ns, () => {}, { onFallback: (reason) => seen.push(reason) }), seen };
  }

  it('counts a call with no answer within 1 s as a timeout, and an object or binding that fails as an error', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { limits, seen } = limitsWith({ slow: 'hangs', broken: 'fails' });
    const slow = limits.take('paths[0]', 'slow', policy);
    await vi.advanceTimersByTimeAsync(999);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await slow).toBeUndefined();
    expect(await limits.take('paths[0]', 'broken', policy)).toBeUndefined();
    expect(await limits.take('paths[0]', 'unbound', policy)).toBeUndefined();
    expect(seen).toEqual(['timeout', 'error', 'error']);
  });

  it('counts nothing for an answer, a refusal, or a refusal remembered without a call', async () => {
    const { limits, seen } = limitsWith({ fine: 'answers' });
    expect(await limits.take('paths[0]', 'fine', policy)).toBe(0);
    expect(await limits.take('paths[0]', 'fine', policy)).toBeGreaterThan(0);
    expect(await limits.take('paths[0]', 'fine', policy)).toBeGreaterThan(0);
    expect(seen).toEqual([]);
  });

  it('hands its counts over once, and takes back the ones a failed report could not deliver', () => {
    const tally = new TrafficTally();
    tally.fallback('timeout');
    tally.fallback('error');
    tally.fallback('error');
    const undelivered = tally.take();
    expect(undelivered.fallbacks).toEqual([['timeout', 1], ['error', 2]]);
    expect(tally.take().fallbacks).toEqual([]);
    tally.fallback('error');
    tally.restore(undelivered);
    expect(new Map(tally.take().fallbacks)).toEqual(new Map([['timeout', 1], ['error', 3]]));
  });
});

describe("the Worker's /metrics", () => {
  let live: TestBackend;
  beforeAll(async () => {
    live = await startTestBackend('live');
  });
  afterAll(() => live?.close());

  it('lists switchyard_store_fallbacks_total for every reason, 0 before any, and promtool accepts it', async () => {
    const state = new SwitchyardState(objectContext() as never, { LB_CONFIG: JSON.stringify({ paths: [{ path: '/', servers: [live.address] }] }) });
    const text = state.metrics()!;
    expect(text).toContain('# TYPE switchyard_store_fallbacks_total counter');
    expect(fallbacksIn(text)).toEqual({ unreachable: 0, timeout: 0, error: 0 });
    expect(await checkMetrics(text)).toEqual({ code: 0, output: '' });
  });

  it("shows the fallbacks of an isolate whose keys' objects failed or timed out, once its report reaches the object, none lost or counted twice when a report fails", async () => {
    const env: Record<string, unknown> = {
      LB_CONFIG: JSON.stringify({ paths: [{ path: '/fallbacks', servers: [live.address], rate_limit: { requests: 100, per: '1s', burst: 100, key: { header: 'x-client' } } }] }),
    };
    const state = new SwitchyardState(objectContext() as never, env as never);
    let health: 'answers' | 'fails' = 'fails';
    let keys: KeyObject = 'fails';
    const reports: unknown[] = [];
    env.SWITCHYARD_STATE = {
      idFromName: (name: string) => ({ toString: () => name }),
      get: (id: { toString(): string }) =>
        id.toString() === 'health'
          ? { sync: (report: never) => (reports.push(report), health === 'answers' ? state.sync(report) : Promise.reject(new Error('Durable Object reset'))) }
          : { take: (limit: string, policy: never) => (keys === 'hangs' ? new Promise(() => {}) : keys === 'fails' ? Promise.reject(new Error('Durable Object is overloaded')) : Promise.resolve(state.take(limit, policy))) },
    };
    const balancer = isolateBalancer(env as never, '', () => {});
    if (!balancer.ok) throw new Error(balancer.problem);
    const request = async () => {
      const response = await balancer.app.request('/fallbacks', { headers: { 'x-client': 'a' } }, env);
      await response.text();
      return response.status;
    };

    // The keys' objects fail: this isolate's own bucket admits; the report of it fails too.
    expect([await request(), await request()]).toEqual([200, 200]);
    await balancer.shared!.syncNow();
    expect(reports).toHaveLength(1);
    expect(fallbacksIn(state.metrics()!)).toEqual({ unreachable: 0, timeout: 0, error: 0 });
    // One key's call times out (1 s); then the object takes the report: the counts kept and the new one.
    keys = 'hangs';
    expect(await request()).toBe(200);
    health = 'answers';
    await balancer.shared!.syncNow();
    expect(fallbacksIn(state.metrics()!)).toEqual({ unreachable: 0, timeout: 1, error: 2 });
    // Delivered once: the next report carries none of them again.
    keys = 'answers';
    expect(await request()).toBe(200);
    await balancer.shared!.syncNow();
    expect(reports).toHaveLength(3);
    expect(fallbacksIn(state.metrics()!)).toEqual({ unreachable: 0, timeout: 1, error: 2 });
    expect(state.metrics()).toContain('switchyard_requests_total{route="/fallbacks",code="2xx"} 4');
  });

  it('keeps the counts a health object on another config (a deployment rolling out) did not take, for the one that serves this config', async () => {
    const config = (path: string) => JSON.stringify({ paths: [{ path, servers: [live.address], rate_limit: { requests: 100, per: '1s', burst: 100, key: { header: 'x-client' } } }] });
    // A path of its own: isolateBalancer keeps one balancer per config text, as an isolate does.
    const env: Record<string, unknown> = { LB_CONFIG: config('/rolling') };
    const state = new SwitchyardState(objectContext() as never, env as never);
    const older = new SwitchyardState(objectContext() as never, { LB_CONFIG: config('/older') } as never);
    let health = older;
    env.SWITCHYARD_STATE = {
      idFromName: (name: string) => ({ toString: () => name }),
      get: (id: { toString(): string }) =>
        id.toString() === 'health' ? { sync: (report: never) => health.sync(report) } : { take: () => Promise.reject(new Error('Durable Object reset because its code was updated')) },
    };
    const balancer = isolateBalancer(env as never, '', () => {});
    if (!balancer.ok) throw new Error(balancer.problem);
    const response = await balancer.app.request('/rolling', { headers: { 'x-client': 'a' } }, env);
    expect(response.status).toBe(200);
    await response.text();
    await balancer.shared!.syncNow();
    expect(fallbacksIn(older.metrics()!)).toEqual({ unreachable: 0, timeout: 0, error: 0 });
    health = state;
    await balancer.shared!.syncNow();
    expect(fallbacksIn(state.metrics()!)).toEqual({ unreachable: 0, timeout: 0, error: 1 });
    expect(state.metrics()).toContain('switchyard_requests_total{route="/rolling",code="2xx"} 1');
  });
});
