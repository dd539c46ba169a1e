import { describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../src/core/ratelimit/RateLimiter.ts';
import { TokenBucket } from '../../src/core/ratelimit/TokenBucket.ts';
import { appWith, configErrors } from './rulesFixture.ts';

describe('TokenBucket', () => {
  it('allows a burst of capacity, then one request per refill interval', () => {
    const bucket = new TokenBucket({ capacity: 3, refillPerMs: 1 / 1000 }, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0]);
    expect(bucket.take(0)).toBe(1000);
    expect(bucket.take(400)).toBe(600);
    expect(bucket.take(1000)).toBe(0);
    expect(bucket.take(1000)).toBe(1000);
  });

  it('never holds more than its capacity, however long it idles', () => {
    const bucket = new TokenBucket({ capacity: 2, refillPerMs: 1 }, 0);
    expect([bucket.take(1e9), bucket.take(1e9), bucket.take(1e9)]).toEqual([0, 0, 1]);
  });

  it('is not refilled by a clock that steps back', () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerMs: 1 / 1000 }, 5000);
    expect(bucket.take(5000)).toBe(0);
    expect(bucket.take(0)).toBe(1000);
    expect(bucket.take(5999)).toBe(1);
    expect(bucket.take(6000)).toBe(0);
  });
});

describe('RateLimiter', () => {
  it('keeps one bucket per key', () => {
    const limiter = new RateLimiter({ capacity: 1, refillPerMs: 1 / 1000 }, { now: () => 0 });
    expect([limiter.take('a'), limiter.take('b'), limiter.take('a')]).toEqual([0, 0, 1000]);
  });

  it('holds at most max_keys buckets, forgetting full ones first, then the least recently used', () => {
    let now = 0;
    const limiter = new RateLimiter({ capacity: 2, refillPerMs: 1 / 1000 }, { maxKeys: 2, now: () => now });
    limiter.take('a');
    limiter.take('a');
    limiter.take('b');
    now = 1000; // b is full again, a is not.
    limiter.take('c');
    expect(limiter.size).toBe(2);
    expect(limiter.take('a')).toBe(0); // a kept its one refilled token
    expect(limiter.take('a')).toBeGreaterThan(0);
    limiter.take('d'); // nothing full: the least recently used (c) goes
    expect(limiter.size).toBe(2);
    expect(limiter.take('a')).toBeGreaterThan(0);
  });
});

describe('rate_limit through the app', () => {
  const config = (limit: string, extra = '') => `
${extra}
paths:
  - path: /limited
    servers: [localhost:8081]
    rate_limit: ${limit}
  - path: /
    servers: [localhost:8082]
`;

  it('answers 429 with Retry-After once the burst is spent, and lets requests through as tokens return', async () => {
    let now = 0;
    const lb = appWith(config('{ requests: 2, per: 10s, burst: 3 }'), { now: () => now });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await lb.send('/limited')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await lb.send('/limited');
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.text()).toBe('Too Many Requests\n');
    expect(lb.seen).toHaveLength(3);
    now = 4_000;
    expect((await lb.send('/limited')).headers.get('retry-after')).toBe('1');
    now = 5_000;
    expect((await lb.send('/limited')).status).toBe(200);
    expect((await lb.send('/limited')).status).toBe(429);
  });

  it('limits per route: other routes are not counted', async () => {
    const lb = appWith(config('{ requests: 1, per: 1m }'), { now: () => 0 });
    expect((await lb.send('/limited')).status).toBe(200);
    expect((await lb.send('/limited')).status).toBe(429);
    expect((await lb.send('/other')).status).toBe(200);
    expect((await lb.send('/other')).status).toBe(200);
  });

  it('keeps one bucket per client address, whatever its spelling', async () => {
    const lb = appWith(config('{ requests: 1, per: 1m }'), { now: () => 0, peer: '192.0.2.1' });
    expect((await lb.send('/limited')).status).toBe(200);
    lb.state.peer = '::ffff:192.0.2.1';
    expect((await lb.send('/limited')).status).toBe(429);
    lb.state.peer = '192.0.2.2';
    expect((await lb.send('/limited')).status).toBe(200);
  });

  it('keys by a header when told to, and by address when the header is absent', async () => {
    const lb = appWith(config('{ requests: 1, per: 1m, key: { header: X-Api-Key } }'), { now: () => 0 });
    const withKey = (key: string) => lb.send('/limited', { headers: { 'x-api-key': key } });
    expect((await withKey('alice')).status).toBe(200);
    expect((await withKey('alice')).status).toBe(429);
    expect((await withKey('bob')).status).toBe(200);
    expect((await lb.send('/limited')).status).toBe(200);
    expect((await lb.send('/limited')).status).toBe(429);
  });

  it('shares one top-level limit across every route', async () => {
    const lb = appWith(config('{ requests: 100, per: 1s }', 'rate_limit: { requests: 2, per: 1m }'), { now: () => 0 });
    const statuses = [];
    for (const path of ['/limited', '/other', '/limited', '/other']) statuses.push((await lb.send(path)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it('does not trust a spoofed X-Forwarded-For from an untrusted client to pick its bucket', async () => {
    const lb = appWith(config('{ requests: 1, per: 1m }', 'trusted_proxies: [10.0.0.0/8]'), { now: () => 0, peer: '198.51.100.9' });
    expect((await lb.send('/limited', { headers: { 'x-forwarded-for': '1.1.1.1' } })).status).toBe(200);
    expect((await lb.send('/limited', { headers: { 'x-forwarded-for': '2.2.2.2' } })).status).toBe(429);
  });

  it('refuses a limit that makes no sense', () => {
    expect(configErrors(config('{ requests: 0, per: 1s }'))).toMatch(/paths\[0\]\.rate_limit\.requests: requests must be at least 1/);
    expect(configErrors(config('{ requests: 5, per: soon }'))).toMatch(/paths\[0\]\.rate_limit\.per: "soon" is not a duration/);
    expect(configErrors(config('{ requests: 5, per: 1s, key: ip }'))).toMatch(/paths\[0\]\.rate_limit\.key: expected client_address or \{ header: NAME \}/);
  });
});

describe('rate_limit keys for IPv6 clients', () => {
  const config = (extra = '') => `
paths:
  - path: /
    servers: [localhost:8081]
    rate_limit: { requests: 1, per: 1m${extra} }
`;

  it('share one bucket per /64 by default, and IPv4 clients are never grouped', async () => {
    const lb = appWith(config(), { now: () => 0, peer: '2001:db8:1:2::1' });
    expect((await lb.send('/')).status).toBe(200);
    lb.state.peer = '2001:db8:1:2:ffff::9';
    expect((await lb.send('/')).status).toBe(429);
    lb.state.peer = '2001:db8:1:3::1';
    expect((await lb.send('/')).status).toBe(200);
    lb.state.peer = '10.0.0.1';
    expect((await lb.send('/')).status).toBe(200);
    lb.state.peer = '10.0.0.2';
    expect((await lb.send('/')).status).toBe(200);
  });

  it('key each address apart with ipv6_prefix: 128', async () => {
    const lb = appWith(config(', ipv6_prefix: 128'), { now: () => 0, peer: '2001:db8::1' });
    expect((await lb.send('/')).status).toBe(200);
    lb.state.peer = '2001:db8::2';
    expect((await lb.send('/')).status).toBe(200);
    expect((await lb.send('/')).status).toBe(429);
  });
});

describe('rate_limit keys from a header', () => {
  it('puts every value longer than 256 characters in one bucket, so huge random keys cannot fill memory', async () => {
    const lb = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    rate_limit: { requests: 1, per: 1m, key: { header: X-Api-Key } }
`, { now: () => 0 });
    expect((await lb.send('/', { headers: { 'x-api-key': 'a'.repeat(300) } })).status).toBe(200);
    expect((await lb.send('/', { headers: { 'x-api-key': 'b'.repeat(300) } })).status).toBe(429);
    expect((await lb.send('/', { headers: { 'x-api-key': 'c'.repeat(256) } })).status).toBe(200);
  });
});

describe('RateLimiter under a flood of new keys', () => {
  it('walks its buckets at most once a second, not once per new key', () => {
    const isFull = vi.spyOn(TokenBucket.prototype, 'isFull');
    try {
      let now = 0;
      const limiter = new RateLimiter({ capacity: 10, refillPerMs: 1 / 3_600_000 }, { maxKeys: 1_000, now: () => now });
      for (let i = 0; i < 1_000; i++) limiter.take(`key-${i}`);
      for (let i = 0; i < 10_000; i++) limiter.take(`flood-${i}`);
      expect(limiter.size).toBe(1_000);
      expect(isFull.mock.calls.length).toBeLessThanOrEqual(1_000);
      now = 1_000;
      limiter.take('after-a-second');
      expect(isFull.mock.calls.length).toBeLessThanOrEqual(2_000);
    } finally {
      isFull.mockRestore();
    }
  });
});
