import { describe, expect, it } from 'vitest';
import { HealthState } from '../../../src/core/health/HealthState.ts';
import { DEFAULT_ACTIVE_CHECK, DEFAULT_PASSIVE_HEALTH, type ActiveCheckSettings } from '../../../src/core/health/HealthSettings.ts';
import { Backend } from '../../../src/core/pool/Backend.ts';
import { FleetHealth } from '../../../src/store/FleetHealth.ts';
import type { ChannelListener, RedisLink } from '../../../src/store/redisLink.ts';
import { FakeRedis } from '../../helpers/fakeRedis.ts';
import { manualClock } from '../../helpers/manualClock.ts';

const URL = 'http://10.0.0.1:8080';
const ACTIVE: ActiveCheckSettings = { ...DEFAULT_ACTIVE_CHECK, healthyThreshold: 2, unhealthyThreshold: 3 };
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One balancer instance: a config with one backend (checked and ejectable unless told), and its FleetHealth on `redis`. */
function instance(redis: FakeRedis | undefined, name: string, clock = manualClock(), checked = true) {
  const log: string[] = [];
  const applied: string[] = [];
  const health = new HealthState({ active: checked ? ACTIVE : undefined, passive: DEFAULT_PASSIVE_HEALTH, now: clock.now });
  // The first probe finds it up, as at start-up: no news.
  health.recordProbe(true, 'GET /healthcheck -> 200');
  let backend = new Backend({ origin: URL, basePath: '' }, health);
  const fleet = new FleetHealth({ instance: name, log: (line) => void log.push(line), applied: (changed) => void applied.push(changed.id), now: clock.now });
  fleet.follow([backend]);
  const link = redis?.link();
  fleet.use(link && { link, prefix: 'sy:' });
  return {
    fleet,
    log,
    applied,
    get backend() {
      return backend;
    },
    health,
    /** A reload: a new backend object, which takes the health over as `Backend.adopt` does. */
    reload() {
      const next = new Backend({ origin: URL, basePath: '' });
      next.adopt(backend, true);
      backend = next;
      fleet.follow([backend]);
    },
    failChecks: (count: number) => Array.from({ length: count }, () => health.recordProbe(false, 'GET /healthcheck -> connection refused')),
    passChecks: (count: number) => Array.from({ length: count }, () => health.recordProbe(true, 'GET /healthcheck -> 200')),
    drain(draining: boolean) {
      backend.draining = draining;
      fleet.drainChanged(backend);
    },
  };
}

const stored = (redis: FakeRedis) => Object.fromEntries([...(redis.hashes.get('sy:health') ?? [])].map(([field, value]) => [field, JSON.parse(value).kind]));

describe('FleetHealth', () => {
  it('takes a backend down on every instance as soon as one finds it down, without checks of their own, and up again likewise', async () => {
    const redis = new FakeRedis();
    const [a, b, c] = ['a', 'b', 'c'].map((name) => instance(redis, name));
    await settle();
    a.failChecks(3);
    for (const other of [b, c]) {
      expect(other.health.state).toBe('down');
      expect(other.backend.isHealthy(Date.now())).toBe(false);
      expect(other.applied).toEqual([URL]);
    }
    expect(b.health.state).toBe('down');
    a.passChecks(2);
    expect([b.health.state, c.health.state]).toEqual(['up', 'up']);
    expect(stored(redis)).toEqual({ [`verdict ${URL}`]: 'up' });
  });

  it('logs news it cannot apply instead of throwing it into the Redis client, and goes on hearing news', async () => {
    const redis = new FakeRedis();
    const [a, b] = ['a', 'b'].map((name) => instance(redis, name));
    await settle();
    let throwing = true;
    b.health.subscribe(() => {
      if (throwing) throw new Error('a subscriber failed');
    });
    expect(() => a.failChecks(3)).not.toThrow();
    expect(b.log.find((line) => line.startsWith('health: cannot apply news from a'))).toMatch(/a subscriber failed$/);
    throwing = false;
    a.passChecks(2);
    expect(b.health.state).toBe('up');
  });

  it('publishes on the channel named by the prefix, ignores its own echo (even a late one) and names the instance that decided in the log line', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'host-a/1/x');
    const b = instance(redis, 'b');
    await settle();
    a.failChecks(3);
    expect(redis.published.map((each) => [each.channel, JSON.parse(each.message)])).toEqual([
      ['sy:health', { kind: 'down', from: 'host-a/1/x', backend: URL, reason: 'GET /healthcheck -> connection refused', streak: 3 }],
    ]);
    expect(a.applied).toEqual([]);
    // startHealthChecks logs adopted events through describeHealthEvent; the reason carries who and why.
    const events: string[] = [];
    b.health.subscribe((event) => void events.push(event.kind === 'returned' ? '' : event.reason));
    a.passChecks(2);
    expect(events).toEqual(['host-a/1/x found it up: GET /healthcheck -> 200 (2 passed checks in a row)']);
    // Its own down, heard again after it found the backend up: not news.
    redis.deliver('sy:health', redis.published[0]!.message);
    expect(a.health.state).toBe('up');
  });

  it('tells no one of a first check that failed, before or after it follows the backend: a booting instance does not take a healthy backend out of the fleet', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a');
    await settle();
    for (const probedFirst of [true, false]) {
      const health = new HealthState({ active: ACTIVE, passive: DEFAULT_PASSIVE_HEALTH });
      if (probedFirst) health.recordProbe(false, 'GET /healthcheck -> connection refused');
      const fleet = new FleetHealth({ instance: `booting-${probedFirst}`, log: () => {} });
      fleet.follow([new Backend({ origin: URL, basePath: '' }, health)]);
      fleet.use({ link: redis.link(), prefix: 'sy:' });
      if (!probedFirst) health.recordProbe(false, 'GET /healthcheck -> connection refused');
      await settle();
      expect(health.state).toBe('down');
    }
    expect(a.health.state).toBe('up');
    expect(redis.published).toEqual([]);
    expect(stored(redis)).toEqual({});
  });

  it('says once when Redis refuses the channel or hash (NOPERM), reports health unshared, and says when it works again', async () => {
    let permitted = false;
    let listener: ChannelListener | undefined;
    const denied = () => Promise.reject(new Error('NOPERM no permissions to access a channel'));
    const link: RedisLink = {
      ready: true,
      onChange: () => {},
      gcra: () => Promise.resolve([0, 0]),
      announce: () => (permitted ? Promise.resolve() : denied()),
      readHash: () => (permitted ? Promise.resolve({}) : denied()),
      subscribe: (_channel, each) => void (listener = each),
      close: async () => {},
    };
    const a = instance(undefined, 'a');
    expect(a.fleet.shared).toBeUndefined();
    a.fleet.use({ link, prefix: 'sy:' });
    listener!.refused('NOPERM no permissions to access a channel');
    a.drain(true);
    await settle();
    expect(a.fleet.shared).toBe(false);
    expect(a.log).toEqual([
      "health: cannot subscribe to sy:health in redis (NOPERM no permissions to access a channel); this instance's health stays its own until it can (the Redis user needs the channel and the key sy:health)",
    ]);
    permitted = true;
    listener!.subscribed();
    await settle();
    expect(a.fleet.shared).toBe(true);
    expect(a.log.slice(1)).toEqual(['health: shared through redis again']);
  });

  it('keeps a down heard from another instance until its own checks pass healthy_threshold times in a row, then tells the others', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a');
    const b = instance(redis, 'b');
    await settle();
    a.failChecks(3);
    b.passChecks(1);
    expect(b.health.state).toBe('down');
    b.passChecks(1);
    expect(b.health.state).toBe('up');
    // The latest verdict wins: a's own checks take it down again only after unhealthy_threshold failures.
    expect(a.health.state).toBe('up');
  });

  it('ejects a backend on every instance for what is left of the cool-down of the instance that ejected it', async () => {
    const redis = new FakeRedis();
    const clock = manualClock();
    const a = instance(redis, 'a', clock);
    const b = instance(redis, 'b', clock);
    await settle();
    for (let i = 0; i < DEFAULT_PASSIVE_HEALTH.failures; i++) a.health.recordFailure('502 from the backend');
    expect(b.health.isEjected(clock.now())).toBe(true);
    expect(b.health.ejectedUntil).toBe(a.health.ejectedUntil);
    await clock.advance(DEFAULT_PASSIVE_HEALTH.cooldownMs);
    expect(b.health.isEjected(clock.now())).toBe(false);
    // Ejections end by themselves: none is kept for instances that come later.
    expect(stored(redis)).toEqual({});
  });

  it('drains and undrains a backend on every instance, across their reloads, and tells an instance that starts later', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a');
    const b = instance(redis, 'b');
    await settle();
    a.drain(true);
    expect(b.backend.draining).toBe(true);
    expect(b.log).toEqual([`health: ${URL} drained by a; no new requests go to it here either`]);
    b.reload();
    expect(b.backend.draining).toBe(true);
    const c = instance(redis, 'c');
    await settle();
    expect(c.backend.draining).toBe(true);
    c.drain(false);
    expect([a.backend.draining, b.backend.draining]).toEqual([false, false]);
    b.reload();
    expect(b.backend.draining).toBe(false);
  });

  it('lets an instance that starts later take the verdicts the others hold', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a');
    await settle();
    a.failChecks(3);
    const b = instance(redis, 'b');
    await settle();
    expect(b.health.state).toBe('down');
  });

  it('keeps what it could not publish while Redis was away and writes it when Redis is back; the others catch up from the hash', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a');
    const b = instance(redis, 'b');
    await settle();
    redis.stop();
    a.failChecks(3);
    a.drain(true);
    expect([b.health.state, b.backend.draining]).toEqual(['up', false]);
    redis.start(false);
    await settle();
    expect([b.health.state, b.backend.draining]).toEqual(['down', true]);
    expect(stored(redis)).toEqual({ [`verdict ${URL}`]: 'down', [`drain ${URL}`]: 'drained' });
  });

  it('writes its own verdicts and drains again into a Redis that restarted empty, and keeps a down it heard until its owner does', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a');
    const b = instance(redis, 'b');
    await settle();
    a.failChecks(3);
    b.drain(true);
    redis.stop();
    redis.start(true);
    await settle();
    expect(JSON.parse(redis.hashes.get('sy:health')!.get(`verdict ${URL}`)!).from).toBe('a');
    expect(JSON.parse(redis.hashes.get('sy:health')!.get(`drain ${URL}`)!).from).toBe('b');
    expect([a.backend.draining, b.health.state]).toEqual([true, 'down']);
  });

  it('adopts no verdict for a backend it does not check itself (nothing would bring it back), but ejections and drains', async () => {
    const redis = new FakeRedis();
    const clock = manualClock();
    const a = instance(redis, 'a', clock);
    const b = instance(redis, 'b', clock, false);
    await settle();
    a.failChecks(3);
    expect(b.health.state).toBe('unknown');
    for (let i = 0; i < DEFAULT_PASSIVE_HEALTH.failures; i++) a.health.recordFailure('502 from the backend');
    a.drain(true);
    expect(b.health.isEjected(clock.now())).toBe(true);
    expect(b.backend.draining).toBe(true);
  });

  it('ignores what is not news: other channels, malformed messages, unknown backends', async () => {
    const redis = new FakeRedis();
    const clock = manualClock();
    const a = instance(redis, 'a', clock);
    await settle();
    for (const message of ['', 'null', '{"kind":"down"}', '{"kind":"down","from":"x","backend":"http://elsewhere:1","reason":"r"}', '{"kind":"ejected","from":"x","backend":"http://10.0.0.1:8080","reason":"r","forMs":-1,"cooldownMs":5}', '{"kind":"reboot","from":"x","backend":"http://10.0.0.1:8080"}']) {
      redis.deliver('sy:health', message);
    }
    redis.deliver('other:health', JSON.stringify({ kind: 'down', from: 'x', backend: URL, reason: 'r' }));
    expect([a.health.state, a.health.isEjected(clock.now()), a.applied]).toEqual(['up', false, []]);
  });

  it('takes hostile news safely: control characters out of log lines, oversized messages ignored, no drains kept for backends it does not have, ejections no longer than its own max_cooldown', async () => {
    const redis = new FakeRedis();
    const clock = manualClock();
    const a = instance(redis, 'a', clock);
    await settle();
    const events: string[] = [];
    a.health.subscribe((event) => void events.push(event.kind === 'returned' ? '' : event.reason));
    redis.deliver('sy:health', JSON.stringify({ kind: 'down', from: 'x\ny', backend: URL, reason: 'refused\nswitchyard: config reloaded (SIGHUP)', streak: 3 }));
    expect(events).toEqual(['x y found it down: refused switchyard: config reloaded (SIGHUP) (3 failed checks in a row)']);
    redis.deliver('sy:health', JSON.stringify({ kind: 'up', from: 'x', backend: URL, reason: 'r'.repeat(5_000), streak: 2 }));
    expect(a.health.state).toBe('down');
    for (let i = 0; i < 100; i++) redis.deliver('sy:health', JSON.stringify({ kind: 'drained', from: 'x', backend: `http://junk-${i}` }));
    const junk = new Backend({ origin: 'http://junk-7', basePath: '' });
    a.fleet.follow([a.backend, junk]);
    expect(junk.draining).toBe(false);
    redis.deliver('sy:health', JSON.stringify({ kind: 'ejected', from: 'x', backend: URL, reason: 'r', streak: 5, forMs: 86_400_000, cooldownMs: 86_400_000, ejections: 9 }));
    expect(a.health.ejectedUntil).toBe(clock.now() + DEFAULT_PASSIVE_HEALTH.maxCooldownMs);
  });

  it('writes a drain again into a Redis that restarted empty even when the instance that made it has restarted since', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a/1');
    const b = instance(redis, 'b/1');
    await settle();
    a.drain(true);
    a.fleet.close();
    const a2 = instance(redis, 'a/2');
    await settle();
    expect(a2.backend.draining).toBe(true);
    redis.stop();
    redis.start(true);
    await settle();
    const c = instance(redis, 'c/1');
    await settle();
    expect([a2.backend.draining, b.backend.draining, c.backend.draining]).toEqual([true, true, true]);
    expect(JSON.parse(redis.hashes.get('sy:health')!.get(`drain ${URL}`)!)).toMatchObject({ kind: 'drained', from: 'a/1' });
  });

  it('does not let a hash read that left before newer news undo it', async () => {
    const redis = new FakeRedis();
    const a = instance(redis, 'a');
    await settle();
    a.drain(true);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = redis.link();
    const b = instance(undefined, 'b');
    b.fleet.use({ link: { ...slow, ready: true, onChange: (l) => slow.onChange(l), gcra: (k, x) => slow.gcra(k, x), announce: (...x) => slow.announce(...x), subscribe: (c, l) => slow.subscribe(c, l), close: () => slow.close(), readHash: async (key) => {
      const snapshot = await slow.readHash(key);
      await gate;
      return snapshot;
    } }, prefix: 'sy:' });
    await settle();
    a.drain(false);
    expect(b.backend.draining).toBe(false);
    release();
    await settle();
    await settle();
    expect(b.backend.draining).toBe(false);
  });

  it('shares nothing without a store: drains stay this instance’s and a reload undoes them, as the file says', async () => {
    const a = instance(undefined, 'a');
    a.drain(true);
    a.reload();
    expect(a.backend.draining).toBe(false);
  });
});
