import { describe, expect, it } from 'vitest';
import type { PickRequest } from '../../src/core/balancing/BalancingStrategy.ts';
import { createStrategy, type Algorithm } from '../../src/core/balancing/createStrategy.ts';
import { Sticky, stickyToken } from '../../src/core/balancing/sticky.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { HealthState } from '../../src/core/health/HealthState.ts';
import { DEFAULT_ACTIVE_CHECK, DEFAULT_PASSIVE_HEALTH, type PassiveHealthSettings } from '../../src/core/health/HealthSettings.ts';
import { Backend } from '../../src/core/pool/Backend.ts';
import { Pool, type PoolMember } from '../../src/core/pool/Pool.ts';
import { manualClock, seededRandom } from '../helpers/manualClock.ts';

const NO_REQUEST: PickRequest = { clientAddress: undefined, headers: new Headers() };

/** Health whose every probe decides at once, so a test takes a backend down or up with one probe, as its checks would. */
function oneProbeHealth(extra: { passive?: PassiveHealthSettings; now?: () => number } = {}): HealthState {
  return new HealthState({ active: { ...DEFAULT_ACTIVE_CHECK, healthyThreshold: 1, unhealthyThreshold: 1 }, ...extra });
}

const takeDown = (backend: Backend) => backend.health.recordProbe(false, 'GET /healthcheck -> 503');
const bringUp = (backend: Backend) => backend.health.recordProbe(true, 'GET /healthcheck -> 200');

function members(weights: number[]): PoolMember[] {
  return weights.map((weight, i) => ({ backend: new Backend({ origin: `http://10.0.0.${i + 1}:80`, basePath: '' }, oneProbeHealth()), weight }));
}

function pool(algorithm: Algorithm, list: PoolMember[], extra: { hashOn?: 'client_ip' | { header: string } | { cookie: string }; sticky?: Sticky; now?: () => number } = {}): Pool {
  const random = seededRandom(1);
  return new Pool(list, (members) => createStrategy(algorithm, { members, random, hashOn: extra.hashOn }), { sticky: extra.sticky, now: extra.now });
}

function indexOf(list: PoolMember[], backend: Backend | undefined): number {
  return list.findIndex((member) => member.backend === backend);
}

/** Share of `picks` picks that went to each member, in member order. */
function shares(p: Pool, list: PoolMember[], picks = 10_000, request: (i: number) => PickRequest = () => NO_REQUEST): number[] {
  const counts = new Map(list.map((member) => [member.backend, 0]));
  for (let i = 0; i < picks; i++) {
    const backend = p.pick(request(i))!;
    counts.set(backend, counts.get(backend)! + 1);
  }
  return list.map((member) => counts.get(member.backend)! / picks);
}

describe('balancing algorithms', () => {
  it('random spreads evenly, and in proportion to weights', () => {
    const even = members([1, 1, 1]);
    for (const share of shares(pool('random', even), even)) expect(share).toBeCloseTo(1 / 3, 1);
    const weighted = members([5, 3, 2]);
    const [a, b, c] = shares(pool('random', weighted), weighted);
    expect(Math.abs(a - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(b - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(c - 0.2)).toBeLessThan(0.02);
  });

  it('round_robin takes each backend in turn and skips a down one', () => {
    const list = members([1, 1, 1]);
    const p = pool('round_robin', list);
    const order = Array.from({ length: 6 }, () => indexOf(list, p.pick(NO_REQUEST)));
    expect(order).toEqual([0, 1, 2, 0, 1, 2]);
    takeDown(list[1].backend);
    const after = Array.from({ length: 4 }, () => indexOf(list, p.pick(NO_REQUEST)));
    expect(after).not.toContain(1);
    expect(new Set(after)).toEqual(new Set([0, 2]));
  });

  it('weighted is smooth weighted round robin: 5:1:1 interleaves as nginx does', () => {
    const list = members([5, 1, 1]);
    const p = pool('weighted', list);
    const order = Array.from({ length: 7 }, () => 'abc'[indexOf(list, p.pick(NO_REQUEST))]).join('');
    expect(order).toBe('aabacaa');
    const list2 = members([3, 2, 1]);
    // Exact, not statistical: every 6 picks hold 3, 2 and 1 of each.
    expect(shares(pool('weighted', list2), list2, 6_000)).toEqual([0.5, 2 / 6, 1 / 6]);
  });

  it('least_connections picks the backend with the fewest requests in flight (per weight)', () => {
    const list = members([1, 1, 1]);
    const p = pool('least_connections', list);
    list[0].backend.inFlight = 4;
    list[1].backend.inFlight = 1;
    list[2].backend.inFlight = 3;
    expect(p.pick(NO_REQUEST)).toBe(list[1].backend);
    const heavy = members([4, 1]);
    heavy[0].backend.inFlight = 3; // 0.75 per unit of weight
    heavy[1].backend.inFlight = 1; // 1 per unit of weight
    expect(pool('least_connections', heavy).pick(NO_REQUEST)).toBe(heavy[0].backend);
  });

  it('least_connections keeps concurrent in-flight requests level', () => {
    const list = members([1, 1, 1]);
    const p = pool('least_connections', list);
    const open: Backend[] = [];
    const random = seededRandom(3);
    for (let i = 0; i < 3000; i++) {
      const backend = p.pick(NO_REQUEST)!;
      expect(backend.inFlight).toBe(Math.min(...list.map((member) => member.backend.inFlight)));
      backend.inFlight++;
      open.push(backend);
      // Requests finish out of order, a little less often than they start.
      if (random() < 0.45) open.splice(Math.floor(random() * open.length), 1)[0].inFlight--;
    }
    const counts = list.map((member) => member.backend.inFlight);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(open.length / 10);
  });

  it('least_connections and power_of_two spread an idle pool by weight', () => {
    for (const algorithm of ['least_connections', 'power_of_two'] as const) {
      const list = members([5, 3, 2]);
      const [a, b, c] = shares(pool(algorithm, list), list);
      expect(Math.abs(a - 0.5)).toBeLessThan(0.02);
      expect(Math.abs(b - 0.3)).toBeLessThan(0.02);
      expect(Math.abs(c - 0.2)).toBeLessThan(0.02);
    }
  });

  it('power_of_two prefers the less loaded of two random backends, and spreads evenly when idle', () => {
    const list = members([1, 1, 1, 1]);
    for (const share of shares(pool('power_of_two', list), list)) expect(Math.abs(share - 0.25)).toBeLessThan(0.02);
    list[0].backend.inFlight = 100;
    const [busy] = shares(pool('power_of_two', list), list);
    expect(busy).toBe(0); // always loses its comparison
  });

  it('consistent_hash sends a key to the same backend, spreads keys roughly evenly, and moves only the departed share', () => {
    const list = members([1, 1, 1, 1]);
    const p = pool('consistent_hash', list, { hashOn: 'client_ip' });
    const request = (i: number): PickRequest => ({ clientAddress: `192.0.2.${i % 250}.${Math.floor(i / 250)}`, headers: new Headers() });
    const before = Array.from({ length: 10_000 }, (_, i) => p.pick(request(i))!);
    expect(Array.from({ length: 10_000 }, (_, i) => p.pick(request(i))!)).toEqual(before);
    for (const member of list) {
      const share = before.filter((backend) => backend === member.backend).length / 10_000;
      expect(Math.abs(share - 0.25)).toBeLessThan(0.06);
    }
    takeDown(list[2].backend);
    const after = Array.from({ length: 10_000 }, (_, i) => p.pick(request(i))!);
    for (let i = 0; i < 10_000; i++) {
      if (before[i] !== list[2].backend) expect(after[i]).toBe(before[i]);
      else expect(after[i]).not.toBe(list[2].backend);
    }
    bringUp(list[2].backend);
    expect(Array.from({ length: 10_000 }, (_, i) => p.pick(request(i))!)).toEqual(before);
  });

  it('consistent_hash can hash a header or a cookie, and weights give more keys', () => {
    const list = members([1, 1, 1]);
    const byHeader = pool('consistent_hash', list, { hashOn: { header: 'x-user' } });
    const user = (name: string): PickRequest => ({ clientAddress: '203.0.113.9', headers: new Headers({ 'x-user': name }) });
    expect(byHeader.pick(user('ann'))).toBe(byHeader.pick(user('ann')));
    expect(new Set(Array.from({ length: 100 }, (_, i) => byHeader.pick(user(`u${i}`)))).size).toBe(3);
    const byCookie = pool('consistent_hash', list, { hashOn: { cookie: 'sid' } });
    const session = (id: string): PickRequest => ({ clientAddress: undefined, headers: new Headers({ cookie: `a=1; sid=${id}` }) });
    expect(byCookie.pick(session('s1'))).toBe(byCookie.pick(session('s1')));
    const heavy = members([3, 1]);
    const weighted = pool('consistent_hash', heavy, { hashOn: { header: 'x-user' } });
    const [a] = shares(weighted, heavy, 10_000, (i) => user(`user-${i}`));
    expect(Math.abs(a - 0.75)).toBeLessThan(0.06);
  });

  it('sticky sessions keep a client on the backend its cookie names while that backend is up', () => {
    const list = members([1, 1, 1]);
    const sticky = new Sticky({ cookie: 'lb' });
    const p = pool('round_robin', list, { sticky });
    const pinned = list[1].backend;
    const withCookie: PickRequest = { clientAddress: undefined, headers: new Headers({ cookie: `lb=${stickyToken(pinned)}` }) };
    for (let i = 0; i < 10; i++) expect(p.pick(withCookie)).toBe(pinned);
    expect(sticky.setCookie(pinned, withCookie.headers)).toBeUndefined();
    expect(sticky.setCookie(list[0].backend, new Headers())).toBe(`lb=${stickyToken(list[0].backend)}; Path=/; HttpOnly; SameSite=Lax`);
    expect(stickyToken(pinned)).not.toContain('10.0.0');
    takeDown(pinned);
    expect(p.pick(withCookie)).not.toBe(pinned);
  });
});

describe('pool picking and health', () => {
  const passive = { ...DEFAULT_PASSIVE_HEALTH, failures: 1, cooldownMs: 10_000 };

  it('skips ejected backends, but tries them when every backend is ejected (panic mode)', () => {
    const clock = manualClock();
    const list = [0, 1].map((i) => ({ backend: new Backend({ origin: `http://10.0.0.${i}:80`, basePath: '' }, oneProbeHealth({ passive, now: clock.now })), weight: 1 }));
    const p = pool('round_robin', list, { now: clock.now });
    list[0].backend.health.recordFailure('x');
    expect(new Set([p.pick(NO_REQUEST), p.pick(NO_REQUEST)])).toEqual(new Set([list[1].backend]));
    list[1].backend.health.recordFailure('x');
    expect(p.pick(NO_REQUEST)).toBeDefined();
    takeDown(list[0].backend);
    takeDown(list[1].backend);
    expect(p.pick(NO_REQUEST)).toBeUndefined();
  });

  it('picks an ejected backend again once its cool-down is over, and tells of its return at that pick', async () => {
    const clock = manualClock();
    const list = [0, 1].map((i) => ({ backend: new Backend({ origin: `http://10.0.0.${i}:80`, basePath: '' }, oneProbeHealth({ passive, now: clock.now })), weight: 1 }));
    const p = pool('round_robin', list, { now: clock.now });
    const [ejected] = list.map((member) => member.backend);
    const events: string[] = [];
    ejected.health.subscribe((event) => events.push(event.kind));
    ejected.health.recordFailure('x');
    await clock.advance(10_000);
    expect(ejected.isHealthy(clock.now())).toBe(true);
    expect(events).toEqual(['ejected']); // reading told nobody anything
    const picked = [p.pick(NO_REQUEST), p.pick(NO_REQUEST)];
    expect(events).toEqual(['ejected', 'returned']);
    expect(picked).toContain(ejected);
  });

  it('leaves ejections alone when asked only whether a backend is left', async () => {
    const clock = manualClock();
    const backend = new Backend({ origin: 'http://10.0.0.1:80', basePath: '' }, oneProbeHealth({ passive, now: clock.now }));
    const p = pool('random', [{ backend, weight: 1 }], { now: clock.now });
    const events: string[] = [];
    backend.health.subscribe((event) => events.push(event.kind));
    backend.health.recordFailure('x');
    await clock.advance(10_000);
    expect(p.hasCandidates()).toBe(true);
    expect(events).toEqual(['ejected']);
  });

  it('reads algorithm, hash_on and weights from the config, and refuses weights with round_robin', () => {
    const config = loadConfig(`
paths:
  - path: /
    algorithm: consistent_hash
    hash_on: { header: X-User }
    servers: [{ url: "localhost:8081", weight: 3 }, localhost:8082]
`);
    expect(config.routes.match(undefined, '/')!.pools[0].members.map((member) => member.weight)).toEqual([3, 1]);
    expect(() => loadConfig('paths: [{ path: /, algorithm: round_robin, servers: [{ url: "localhost:1", weight: 2 }] }]')).toThrow(/use algorithm: weighted/);
    expect(() => loadConfig('paths: [{ path: /, algorithm: random, hash_on: client_ip, servers: [localhost:1] }]')).toThrow(/hash_on is only used by algorithm: consistent_hash/);
    expect(() => loadConfig('paths: [{ path: /, algorithm: fastest, servers: [localhost:1] }]')).toThrow(/"fastest" is not an algorithm/);
  });
});

describe('least_connections through forwarding', () => {
  it('sends the next request to the backend whose response has finished, counting bodies still streaming', async () => {
    const { forwardWeb } = await import('../helpers/forwardWeb.ts');
    const config = loadConfig('algorithm: least_connections\nhealth_check: false\npaths: [{ path: /, servers: [localhost:8081, localhost:8082, localhost:8083] }]');
    const route = config.routes.match(undefined, '/')!;
    const calls: { origin: string; body: ReadableStreamDefaultController<Uint8Array> }[] = [];
    const upstream = async (request: { origin: string }) =>
      new Response(new ReadableStream<Uint8Array>({ start: (body) => void calls.push({ origin: request.origin, body }) }));
    const send = () =>
      forwardWeb(route, { method: 'GET', path: '/', query: '', headers: new Headers(), body: null }, {
        upstream,
        signal: new AbortController().signal,
        pick: NO_REQUEST,
      });
    const responses = await Promise.all(Array.from({ length: 6 }, send));
    expect(route.pools[0].members.map((member) => member.backend.inFlight)).toEqual([2, 2, 2]);
    // Headers have arrived for all six; one of 8082's bodies is now delivered in full.
    const k = calls.findIndex((call) => call.origin === 'http://localhost:8082');
    calls[k].body.enqueue(new TextEncoder().encode('done'));
    calls[k].body.close();
    expect(await responses[k].text()).toBe('done');
    expect(route.pools[0].members.map((member) => member.backend.inFlight)).toEqual([2, 1, 2]);
    await send();
    expect(calls.at(-1)!.origin).toBe('http://localhost:8082');
  });
});
