import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GCRA_SCRIPT, gcraArguments, gcraWait } from '../../../src/store/gcraScript.ts';
import { RespClient, startRedis, type RedisServer } from '../../helpers/redisServer.ts';

// The script itself, against a real redis-server (no client library: the test speaks RESP).
describe('the GCRA script', () => {
  let redis: RedisServer;
  let client: RespClient;
  let sha: string;
  let n = 0;
  let key: string;
  const take = async (policy: { requests: number; perMs: number; burst: number }) => gcraWait(await client.command('EVALSHA', sha, 1, key, ...gcraArguments(policy)));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    redis = await startRedis();
    client = await RespClient.connect(redis.port);
    sha = String(await client.command('SCRIPT', 'LOAD', GCRA_SCRIPT));
  });
  afterAll(async () => {
    client?.close();
    await redis?.stop();
  });
  beforeEach(() => {
    key = `test:${++n}`;
  });

  it('lets a burst through at once, then refuses with the wait until the next request', async () => {
    const policy = { requests: 10, perMs: 1000, burst: 5 };
    const waits = [];
    const started = performance.now();
    for (let i = 0; i < 6; i++) waits.push(await take(policy));
    // Redis's clock moved on while the six were sent: the wait is what is left of the 100 ms.
    const elapsed = performance.now() - started;
    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(waits[5]).toBeGreaterThanOrEqual(Math.min(100, 100 - elapsed - 1));
    expect(waits[5]).toBeLessThanOrEqual(100);
  });

  it('passes exactly the burst out of many concurrent requests (the script is atomic)', async () => {
    const policy = { requests: 1, perMs: 60_000, burst: 10 };
    const waits = await Promise.all(Array.from({ length: 50 }, () => take(policy)));
    expect(waits.filter((w) => w === 0)).toHaveLength(10);
    expect(Math.min(...waits.filter((w) => w > 0))).toBeGreaterThan(50_000);
  });

  it('refills at the configured rate, and a refused request spends nothing', async () => {
    const policy = { requests: 1, perMs: 50, burst: 1 };
    expect(await take(policy)).toBe(0);
    const stored = await client.command('GET', key);
    const wait = await take(policy);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(50);
    expect(await client.command('GET', key)).toBe(stored);
    await sleep(wait + 5);
    expect(await take(policy)).toBe(0);
  });

  it('lets its key expire once the bucket would be full again', async () => {
    expect(await take({ requests: 1, perMs: 1000, burst: 3 })).toBe(0);
    const ttl = Number(await client.command('PTTL', key));
    expect(ttl).toBeGreaterThan(900);
    expect(ttl).toBeLessThanOrEqual(1000);
  });

  it('admits the burst plus the rate over a second of constant pressure, within 10%', async () => {
    const policy = { requests: 50, perMs: 1000, burst: 5 };
    const started = performance.now();
    let admitted = 0;
    while (performance.now() - started < 1000) {
      const waits = await Promise.all(Array.from({ length: 10 }, () => take(policy)));
      admitted += waits.filter((w) => w === 0).length;
    }
    const expected = policy.burst + (policy.requests * (performance.now() - started)) / policy.perMs;
    expect(admitted).toBeGreaterThanOrEqual(expected * 0.9);
    expect(admitted).toBeLessThanOrEqual(expected * 1.1);
  });
});
