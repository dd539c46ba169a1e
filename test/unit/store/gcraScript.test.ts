import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GCRA_SCRIPT, gcraArguments, gcraWaits } from '../../../src/store/gcraScript.ts';
import type { SharedPolicy } from '../../../src/core/RateLimitStore.ts';
import { RespClient, startRedis, type RedisServer } from '../../helpers/redisServer.ts';

// The script itself, against a real redis-server (no client library: the test speaks RESP). No
// wall-clock assertions: the accuracy over time is the e2e's (shared-rate-limit.test.ts).
describe('the GCRA script', () => {
  let redis: RedisServer;
  let client: RespClient;
  let sha: string;
  let n = 0;
  let key: string;
  /** One request through the buckets `keys` with their `policies`: each bucket's wait. */
  const takeAll = async (keys: readonly string[], policies: readonly SharedPolicy[]) => gcraWaits(await client.command('EVALSHA', sha, keys.length, ...keys, ...gcraArguments(policies)), keys.length);
  const take = async (policy: SharedPolicy) => (await takeAll([key], [policy]))[0]!;

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
    const policy = { requests: 1, perMs: 60_000, burst: 5 };
    const waits = [];
    for (let i = 0; i < 6; i++) waits.push(await take(policy));
    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // One emission interval (60 s) less what Redis's clock moved meanwhile: far more than the test takes.
    expect(waits[5]).toBeGreaterThan(30_000);
    expect(waits[5]).toBeLessThanOrEqual(60_000);
  });

  it('passes exactly the burst out of many concurrent requests (the script is atomic)', async () => {
    const policy = { requests: 1, perMs: 60_000, burst: 10 };
    const waits = await Promise.all(Array.from({ length: 50 }, () => take(policy)));
    expect(waits.filter((w) => w === 0)).toHaveLength(10);
    expect(Math.min(...waits.filter((w) => w > 0))).toBeGreaterThan(30_000);
  });

  it('spends nothing on a refused request, and admits again once the bucket has refilled', async () => {
    const policy = { requests: 1, perMs: 60_000, burst: 1 };
    expect(await take(policy)).toBe(0);
    const stored = await client.command('GET', key);
    expect(await take(policy)).toBeGreaterThan(0);
    expect(await client.command('GET', key)).toBe(stored);
    // The bucket as it is one emission interval later: its TAT in the past.
    await client.command('SET', key, String(Number(stored) - 60_000));
    expect(await take(policy)).toBe(0);
  });

  it('lets its key expire once the bucket would be full again', async () => {
    expect(await take({ requests: 1, perMs: 1000, burst: 3 })).toBe(0);
    const ttl = Number(await client.command('PTTL', key));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
  });

  it('takes from several buckets in one call: admitted only if all admit, and a refusal by one spends no token of the others', async () => {
    const [wide, narrow] = [`${key}:wide`, `${key}:narrow`];
    const policies = [
      { requests: 100, perMs: 60_000, burst: 100 },
      { requests: 1, perMs: 60_000, burst: 2 },
    ];
    expect(await takeAll([wide, narrow], policies)).toEqual([0, 0]);
    expect(await takeAll([wide, narrow], policies)).toEqual([0, 0]);
    const spent = await client.command('GET', wide);
    const refused = await takeAll([wide, narrow], policies);
    expect(refused[0]).toBe(0);
    expect(refused[1]).toBeGreaterThan(0);
    expect(await client.command('GET', wide)).toBe(spent);
    // Together they are as atomic as one: 20 concurrent requests, and the narrow bucket full again (2).
    await client.command('DEL', narrow);
    const waits = await Promise.all(Array.from({ length: 20 }, () => takeAll([wide, narrow], policies)));
    expect(waits.filter((each) => each.every((w) => w === 0))).toHaveLength(2);
  });
});
