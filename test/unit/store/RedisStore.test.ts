import { describe, expect, it } from 'vitest';
import { CIRCUIT_RETRY_MS, RedisStore, TIMEOUTS_TO_TRIP } from '../../../src/store/RedisStore.ts';
import { manualClock } from '../../helpers/manualClock.ts';
import type { RedisLink } from '../../../src/store/redisLink.ts';
import { noHealthSharing } from '../../helpers/fakeRedis.ts';

function fakeLink(ready = true) {
  let listener: (ready: boolean, reason?: string) => void = () => {};
  const calls: { keys: readonly string[]; args: readonly string[] }[] = [];
  let reply: () => Promise<unknown> = async () => [0];
  const link: RedisLink & { ready: boolean } = {
    ready,
    onChange: (l) => void (listener = l),
    gcra: (keys, args) => (calls.push({ keys, args }), reply()),
    ...noHealthSharing,
    close: async () => {},
  };
  return { link, calls, answer: (next: () => Promise<unknown>) => void (reply = next), change: (up: boolean, reason?: string) => ((link.ready = up), listener(up, reason)) };
}

const options = (log: string[]) => ({ prefix: 'sy:', fallbackShare: 0.5, name: 'redis://127.0.0.1:6379', log: (line: string) => void log.push(line) });
const policy = { requests: 10, perMs: 1000, burst: 4 };

describe('RedisStore', () => {
  it('runs the script on the prefixed key with the policy, and reads its wait', async () => {
    const fake = fakeLink();
    const store = new RedisStore(fake.link, options([]));
    expect(await store.take('a1b2', 'ip:1', policy)).toBe(0);
    fake.answer(async () => [250]);
    expect(await store.take('a1b2', 'ip:1', policy)).toBe(250);
    expect(fake.calls).toEqual([
      { keys: ['sy:rl:a1b2:ip:1'], args: ['100', '4'] },
      { keys: ['sy:rl:a1b2:ip:1'], args: ['100', '4'] },
    ]);
  });

  it('asks for several buckets in one script call, and reads one wait per bucket', async () => {
    const fake = fakeLink();
    const store = new RedisStore(fake.link, options([]));
    fake.answer(async () => [0, 700]);
    const wide = { requests: 100, perMs: 1000, burst: 100 };
    expect(await store.takeAll([{ limit: 'top', key: 'ip:1', policy: wide }, { limit: 'route', key: 'ip:1', policy }])).toEqual([0, 700]);
    expect(fake.calls).toEqual([{ keys: ['sy:rl:top:ip:1', 'sy:rl:route:ip:1'], args: ['10', '100', '100', '4'] }]);
  });

  it("never rejects: a reply that is not the script's falls back and is counted as an error", async () => {
    const fake = fakeLink();
    const store = new RedisStore(fake.link, options([]));
    fake.answer(async () => 'OK');
    expect(await store.take('l', 'k', policy)).toBeUndefined();
    fake.answer(async () => [0]);
    expect(await store.takeAll([{ limit: 'l', key: 'k', policy }, { limit: 'm', key: 'k', policy }])).toBeUndefined();
    expect(store.stats.fallbacks).toEqual({ unreachable: 0, timeout: 0, error: 2 });
  });

  it('answers undefined at once, without a command, while Redis is unreachable, and says so once', async () => {
    const fake = fakeLink();
    const log: string[] = [];
    const store = new RedisStore(fake.link, options(log));
    fake.change(false, 'ECONNREFUSED');
    expect(await store.take('top level', 'ip:1', policy)).toBeUndefined();
    expect(await store.take('top level', 'ip:1', policy)).toBeUndefined();
    expect(fake.calls).toHaveLength(0);
    expect(store.stats).toEqual({ up: false, fallbacks: { unreachable: 2, timeout: 0, error: 0 } });
    fake.change(false, 'ECONNREFUSED');
    fake.change(true);
    expect(log).toEqual([
      'store: redis at redis://127.0.0.1:6379 is unreachable (ECONNREFUSED); rate limits fall back to local buckets holding 0.5 of each limit',
      'store: redis at redis://127.0.0.1:6379 is reachable; rate limits are shared again',
    ]);
    expect(await store.take('top level', 'ip:1', policy)).toBe(0);
  });

  it('says so once when Redis is unreachable from the start, and when it first answers', async () => {
    const fake = fakeLink(false);
    const log: string[] = [];
    const store = new RedisStore(fake.link, options(log));
    expect(store.stats.up).toBe(false);
    fake.change(false, 'ECONNREFUSED');
    fake.change(false, 'ECONNREFUSED');
    fake.change(true);
    expect(log).toEqual([
      'store: redis at redis://127.0.0.1:6379 is unreachable (ECONNREFUSED); rate limits fall back to local buckets holding 0.5 of each limit',
      'store: redis at redis://127.0.0.1:6379 is reachable; rate limits are shared',
    ]);
  });

  it('falls back on a timeout or an error instead of failing the request', async () => {
    const fake = fakeLink();
    const store = new RedisStore(fake.link, options([]));
    fake.answer(async () => Promise.reject(new Error('Command timed out')));
    expect(await store.take('l', 'k', policy)).toBeUndefined();
    fake.answer(async () => Promise.reject(new Error('ERR something')));
    expect(await store.take('l', 'k', policy)).toBeUndefined();
    expect(store.stats.fallbacks).toEqual({ unreachable: 0, timeout: 1, error: 1 });
  });

  it('counts a Redis that stops answering in time as down after a few timeouts in a row: one log line, local answers at once, one trial a second, up again once it answers', async () => {
    const fake = fakeLink();
    const log: string[] = [];
    const clock = manualClock();
    const store = new RedisStore(fake.link, { ...options(log), timeoutMs: 100, now: clock.now });
    fake.answer(async () => Promise.reject(new Error('Command timed out')));
    for (let i = 0; i < TIMEOUTS_TO_TRIP; i++) expect(await store.take('l', 'k', policy)).toBeUndefined();
    expect(store.stats.up).toBe(false);
    expect(log).toEqual(['store: redis at redis://127.0.0.1:6379 is unreachable (no answer within 100ms, 3 times in a row); rate limits fall back to local buckets holding 0.5 of each limit']);
    // Open: no command, no wait.
    expect(await store.take('l', 'k', policy)).toBeUndefined();
    expect(fake.calls).toHaveLength(TIMEOUTS_TO_TRIP);
    // A trial a second; still hung, the circuit stays open.
    await clock.advance(CIRCUIT_RETRY_MS);
    expect(await store.take('l', 'k', policy)).toBeUndefined();
    expect(await store.take('l', 'k', policy)).toBeUndefined();
    expect(fake.calls).toHaveLength(TIMEOUTS_TO_TRIP + 1);
    await clock.advance(CIRCUIT_RETRY_MS);
    fake.answer(async () => [0]);
    expect(await store.take('l', 'k', policy)).toBe(0);
    expect(store.stats.up).toBe(true);
    expect(log.slice(1)).toEqual(['store: redis at redis://127.0.0.1:6379 is reachable; rate limits are shared again']);
    expect(store.stats.fallbacks).toEqual({ unreachable: 2, timeout: TIMEOUTS_TO_TRIP + 1, error: 0 });
  });

  it('logs an error from Redis once per different message', async () => {
    const fake = fakeLink();
    const log: string[] = [];
    const store = new RedisStore(fake.link, options(log));
    for (const message of ['ERR one', 'ERR one', 'READONLY replica', 'ERR one']) {
      fake.answer(async () => Promise.reject(new Error(message)));
      await store.take('l', 'k', policy);
    }
    expect(log.map((line) => /\((.*)\)/.exec(line)![1])).toEqual(['ERR one', 'READONLY replica', 'ERR one']);
  });
});
