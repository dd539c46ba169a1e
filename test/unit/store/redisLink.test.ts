import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../../src/store/RedisStore.ts';
import { redisLink, type IoRedisConstructor } from '../../../src/store/redisLink.ts';
import { RespClient, startRedis, type RedisServer } from '../../helpers/redisServer.ts';
import { waitFor } from '../../helpers/waitFor.ts';

describe('redisLink over ioredis and a real redis-server', () => {
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
    // At once, without a command: RedisStore.test.ts shows it; no wall clock here.
    expect(await store.take('top level', 'k', policy)).toBeUndefined();
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

  it('publishes with the hash field in one transaction, reads the hash, and subscribes again after Redis restarts', async () => {
    const Constructor = Redis as unknown as IoRedisConstructor;
    const [publisher, subscriber] = [redisLink(Constructor, redis.url, 1_000), redisLink(Constructor, redis.url, 1_000)];
    const heard: string[] = [];
    let subscriptions = 0;
    subscriber.subscribe('t:health', { heard: (message) => void heard.push(message), subscribed: () => void subscriptions++, refused: () => {} });
    await waitFor(() => publisher.ready && subscriptions === 1, 5_000, 'both links ready and one subscribed');
    await publisher.announce('t:health', 'one', { key: 't:health', field: 'verdict x', value: 'down' });
    await publisher.announce('t:health', 'two');
    await waitFor(() => heard.length === 2, 5_000, 'both messages heard');
    expect(heard).toEqual(['one', 'two']);
    expect(await subscriber.readHash('t:health')).toEqual({ 'verdict x': 'down' });
    await redis.kill();
    await redis.start();
    await waitFor(() => publisher.ready && subscriptions === 2, 5_000, 'subscribed again');
    await publisher.announce('t:health', 'three');
    await waitFor(() => heard.length === 3, 5_000, 'heard after the restart');
    await Promise.all([publisher.close(), subscriber.close()]);
  });

  it('retries a refused subscription (a Redis user without the channel) on the same connection, and subscribes once it may', async () => {
    const admin = await RespClient.connect(redis.port);
    await admin.command('ACL', 'SETUSER', 'lb', 'on', '>pw', '~*', '+@all', 'resetchannels');
    const link = redisLink(Redis as unknown as IoRedisConstructor, redis.url.replace('//', '//lb:pw@'), 1_000);
    const refusals: string[] = [];
    let subscriptions = 0;
    link.subscribe('t:acl', { heard: () => {}, subscribed: () => void subscriptions++, refused: (reason) => void refusals.push(reason) });
    await waitFor(() => refusals.length === 2, 10_000, 'refused twice');
    expect(refusals[0]).toMatch(/NOPERM/);
    const connections = async () => String(await admin.command('CLIENT', 'LIST')).split('\n').filter((line) => / user=lb /.test(line)).map((line) => /\bid=(\d+)/.exec(line)![1]);
    // The same two connections throughout: a refusal is not answered by reconnecting (a storm, before).
    const before = await connections();
    expect(before).toHaveLength(2);
    await admin.command('ACL', 'SETUSER', 'lb', 'allchannels');
    await waitFor(() => subscriptions === 1, 10_000, 'subscribed once permitted');
    expect(await connections()).toEqual(before);
    await link.close();
    admin.close();
  });

  it('never comes back once closed: closed while Redis is away, it neither reconnects nor subscribes when Redis returns; closed while Redis hangs, it lets go', async () => {
    await redis.kill();
    const link = redisLink(Redis as unknown as IoRedisConstructor, redis.url, 200);
    link.subscribe('t:closed', { heard: () => {}, subscribed: () => {}, refused: () => {} });
    await link.close();
    await redis.start();
    // Longer than ioredis's capped backoff (2 s): a link still trying would be connected by now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = await RespClient.connect(redis.port);
    // Only the test's own connection.
    expect(String(await after.command('CLIENT', 'LIST')).split('\n').filter((line) => line.includes('addr='))).toHaveLength(1);
    after.close();

    const hung = redisLink(Redis as unknown as IoRedisConstructor, redis.url, 200);
    hung.subscribe('t:hung', { heard: () => {}, subscribed: () => {}, refused: () => {} });
    await waitFor(() => hung.ready, 5_000, 'the link is ready');
    redis.pause();
    try {
      await hung.close();
    } finally {
      redis.resume();
    }
  });
});
