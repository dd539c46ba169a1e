import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../../src/store/RedisStore.ts';
import { redisLink, type IoRedisConstructor } from '../../../src/store/redisLink.ts';
import { startRedis, type RedisServer } from '../../helpers/redisServer.ts';
import { waitFor } from '../../helpers/waitFor.ts';

describe('RedisStore over ioredis and a real redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => void (redis = await startRedis()));
  afterAll(async () => redis?.stop());

  it('shares a limit, falls back while Redis is killed, and shares it again when it restarts', async () => {
    const log: string[] = [];
    const store = new RedisStore(redisLink(Redis as unknown as IoRedisConstructor, redis.url, 200), { prefix: 't:', fallbackShare: 0.5, name: redis.url, log: (line) => void log.push(line) });
    const policy = { requests: 1, perMs: 60_000, burst: 2 };
    await waitFor(() => store.stats.up, 5_000, 'the link is ready');
    expect(await Promise.all([1, 2, 3].map(() => store.take('top level', 'k', policy)))).toEqual([0, 0, expect.any(Number)]);
    await redis.kill();
    await waitFor(() => !store.stats.up, 5_000, 'the link sees Redis gone');
    const started = performance.now();
    expect(await store.take('top level', 'k', policy)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(50);
    await redis.start();
    await waitFor(() => store.stats.up, 5_000, 'the link is ready again');
    // A fresh Redis (no persistence): the bucket is full again.
    expect(await store.take('top level', 'k', policy)).toBe(0);
    expect(log.map((line) => line.replace(redis.url, 'URL'))).toEqual([
      'store: redis at URL is reachable; rate limits are shared',
      // Killed, Redis closes the connection without an error to name.
      'store: redis at URL is unreachable; rate limits fall back to local buckets holding 0.5 of each limit',
      'store: redis at URL is reachable; rate limits are shared again',
    ]);
    expect(store.stats.fallbacks.unreachable).toBe(1);
    await store.close();
  });
});
