import { describe, expect, it } from 'vitest';
import type { PickRequest } from '../../src/core/balancing/BalancingStrategy.ts';
import { createStrategy, type Algorithm } from '../../src/core/balancing/createStrategy.ts';
import { HealthState } from '../../src/core/health/HealthState.ts';
import { DEFAULT_ACTIVE_CHECK, DEFAULT_PASSIVE_HEALTH } from '../../src/core/health/HealthSettings.ts';
import { Backend } from '../../src/core/pool/Backend.ts';
import { Pool, type PoolMember } from '../../src/core/pool/Pool.ts';
import { manualClock, seededRandom } from '../helpers/manualClock.ts';

const NO_REQUEST: PickRequest = { clientAddress: undefined, headers: new Headers() };

/** Health that one probe decides, and that 2 failed requests in a row eject for 10 s. */
function health(now: () => number): HealthState {
  return new HealthState({
    active: { ...DEFAULT_ACTIVE_CHECK, healthyThreshold: 1, unhealthyThreshold: 1 },
    passive: { ...DEFAULT_PASSIVE_HEALTH, failures: 2, cooldownMs: 10_000, maxCooldownMs: 60_000 },
    now,
  });
}

function members(weights: number[], now: () => number = () => 0): PoolMember[] {
  return weights.map((weight, i) => ({ backend: new Backend({ origin: `http://10.0.0.${i + 1}:80`, basePath: '' }, health(now)), weight }));
}

function pool(algorithm: Algorithm, list: PoolMember[], now?: () => number): Pool {
  const random = seededRandom(3);
  return new Pool(list, (weighted) => createStrategy(algorithm, { members: weighted, random }), { algorithm, now });
}

/** How many of `picks` picks went to each member, in member order. */
function counts(p: Pool, list: readonly PoolMember[], picks: number): number[] {
  const tally = list.map(() => 0);
  for (let i = 0; i < picks; i++) {
    const picked = p.pick(NO_REQUEST);
    const index = list.findIndex((member) => member.backend === picked);
    expect(index, 'a member was picked').toBeGreaterThanOrEqual(0);
    tally[index]++;
  }
  return tally;
}

const eject = (backend: Backend) => {
  backend.health.recordFailure('GET / -> 502');
  backend.health.recordFailure('GET / -> 502');
};

describe('Pool: draining', () => {
  it.each(['random', 'round_robin', 'weighted', 'least_connections', 'power_of_two'] as const)('%s never picks a draining backend', (algorithm) => {
    const list = members([1, 1, 1]);
    const p = pool(algorithm, list);
    list[1].backend.draining = true;
    expect(counts(p, list, 300)[1]).toBe(0);
  });

  it('picks a backend again once it is undrained', () => {
    const list = members([1, 1]);
    const p = pool('round_robin', list);
    list[0].backend.draining = true;
    expect(counts(p, list, 10)).toEqual([0, 10]);
    list[0].backend.draining = false;
    expect(counts(p, list, 10)).toEqual([5, 5]);
  });

  it('never picks a draining backend in panic mode, when every other one is ejected', () => {
    const clock = manualClock();
    const list = members([1, 1, 1], clock.now);
    const p = pool('round_robin', list, clock.now);
    list[0].backend.draining = true;
    eject(list[1].backend);
    eject(list[2].backend);
    expect(list[1].backend.health.isEjected(clock.now())).toBe(true);
    // The ejected ones are tried anyway (panic mode); the drained one is not among the candidates at all.
    const tally = counts(p, list, 20);
    expect(tally[0]).toBe(0);
    expect(tally[1] + tally[2]).toBe(20);
  });

  it('picks nothing when the only backend not down is draining', () => {
    const list = members([1, 1]);
    const p = pool('random', list);
    list[0].backend.health.recordProbe(false, 'GET /healthcheck -> 503');
    list[1].backend.draining = true;
    expect(p.pick(NO_REQUEST)).toBeUndefined();
    expect(p.hasCandidates()).toBe(false);
  });

  it('has no candidates when every backend is draining, and has one again when one is undrained', () => {
    const list = members([1, 1]);
    const p = pool('round_robin', list);
    for (const member of list) member.backend.draining = true;
    expect(p.hasCandidates()).toBe(false);
    expect(p.pick(NO_REQUEST)).toBeUndefined();
    list[1].backend.draining = false;
    expect(p.hasCandidates()).toBe(true);
    expect(p.hasCandidates(new Set([list[1].backend]))).toBe(false);
    expect(p.pick(NO_REQUEST)).toBe(list[1].backend);
  });

  it('does not count a draining backend as healthy', () => {
    const [member] = members([1]);
    expect(member.backend.isHealthy(0)).toBe(true);
    member.backend.draining = true;
    expect(member.backend.isHealthy(0)).toBe(false);
  });
});

describe('Pool: weights set at run time', () => {
  it('splits by the weight set on a backend once the pool is reweighed', () => {
    const list = members([1, 1, 1]);
    const p = pool('weighted', list);
    expect(counts(p, list, 600)).toEqual([200, 200, 200]);
    list[0].backend.weight = 4;
    p.reweigh();
    expect(counts(p, list, 600)).toEqual([400, 100, 100]);
    expect(p.members.map((member) => member.weight)).toEqual([4, 1, 1]);
  });

  it('goes back to the config weights when the run-time weight is unset', () => {
    const list = members([3, 2, 1]);
    const p = pool('weighted', list);
    list[2].backend.weight = 7;
    p.reweigh();
    expect(p.members.map((member) => member.weight)).toEqual([3, 2, 7]);
    expect(counts(p, list, 1200)).toEqual([300, 200, 700]);
    list[2].backend.weight = undefined;
    p.reweigh();
    expect(p.members.map((member) => member.weight)).toEqual([3, 2, 1]);
    expect(counts(p, list, 600)).toEqual([300, 200, 100]);
  });

  it('rebuilds a consistent_hash ring for the new weight, so the keys follow it', () => {
    const list = members([1, 1]);
    const p = new Pool(list, (weighted) => createStrategy('consistent_hash', { members: weighted, random: seededRandom(3), hashOn: 'client_ip' }), { algorithm: 'consistent_hash' });
    const clients = Array.from({ length: 2000 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);
    const shareOfFirst = () => clients.filter((clientAddress) => p.pick({ clientAddress, headers: new Headers() }) === list[0].backend).length / clients.length;
    const even = shareOfFirst();
    expect(even).toBeGreaterThan(0.35);
    expect(even).toBeLessThan(0.65);
    list[0].backend.weight = 9;
    p.reweigh();
    expect(shareOfFirst()).toBeGreaterThan(0.8);
    list[0].backend.weight = undefined;
    p.reweigh();
    expect(shareOfFirst()).toBe(even);
  });

  it('keeps the members in their order and the same backend objects', () => {
    const list = members([1, 1]);
    const p = pool('weighted', list);
    list[1].backend.weight = 9;
    p.reweigh();
    expect(p.members.map((member) => member.backend)).toEqual(list.map((member) => member.backend));
  });

  it('takes the weights of several backends at once, and a draining one still gets none', () => {
    const list = members([1, 1, 1]);
    const p = pool('weighted', list);
    list[0].backend.weight = 2;
    list[1].backend.weight = 3;
    list[2].backend.draining = true;
    p.reweigh();
    expect(counts(p, list, 500)).toEqual([200, 300, 0]);
  });
});

describe('Backend', () => {
  it('is named by its URL without http://, with its base path; an https backend keeps its scheme', () => {
    expect(new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' }).name).toBe('127.0.0.1:8081');
    expect(new Backend({ origin: 'http://app.internal:8080', basePath: '/api' }).name).toBe('app.internal:8080/api');
    expect(new Backend({ origin: 'https://app.internal:8443', basePath: '' }).name).toBe('https://app.internal:8443');
    expect(new Backend({ origin: 'https://app.internal:8443', basePath: '/http://x' }).name).toBe('https://app.internal:8443/http://x');
    expect(new Backend({ origin: 'http://app.internal:8080', basePath: '/api' }).id).toBe('http://app.internal:8080/api');
  });

  it('starts neither draining nor with a run-time weight', () => {
    const backend = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' });
    expect(backend.draining).toBe(false);
    expect(backend.weight).toBeUndefined();
  });

  it('shares its in-flight count with the backend it adopts, both ways', () => {
    const before = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' });
    before.inFlight = 2;
    const after = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' });
    after.adopt(before, false);
    expect(after.inFlight).toBe(2);
    // A request of the old config finishing is seen by the new one, and the other way round.
    before.inFlight--;
    expect(after.inFlight).toBe(1);
    after.inFlight += 3;
    expect(before.inFlight).toBe(4);
  });

  it('takes over the same HealthState object when checked the same way', () => {
    const before = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' }, health(() => 0));
    before.health.recordProbe(false, 'GET /healthcheck -> 503');
    const after = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' }, health(() => 0));
    expect(after.adopt(before, true)).toBe(true);
    expect(after.health).toBe(before.health);
    expect(after.health.isUp).toBe(false);
  });

  it('keeps a health of its own when checked differently, and still shares the in-flight count', () => {
    const before = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' }, health(() => 0));
    before.health.recordProbe(false, 'GET /healthcheck -> 503');
    before.inFlight = 1;
    const own = health(() => 0);
    const after = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' }, own);
    expect(after.adopt(before, false)).toBe(false);
    expect(after.health).toBe(own);
    expect(after.health.state).toBe('unknown');
    expect(after.inFlight).toBe(1);
  });

  it('takes over neither a drain nor a run-time weight: a reload applies the file as written', () => {
    const before = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' });
    before.draining = true;
    before.weight = 5;
    const after = new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' });
    after.adopt(before, true);
    expect(after.draining).toBe(false);
    expect(after.weight).toBeUndefined();
  });
});
