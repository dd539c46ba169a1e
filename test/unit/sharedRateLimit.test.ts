import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import type { RateLimitStore, SharedBucket, SharedPolicy } from '../../src/core/RateLimitStore.ts';
import type { Upstream } from '../../src/core/Upstream.ts';
import { manualClock } from '../helpers/manualClock.ts';

/** A store the test answers for: each take waits until the test settles it. */
function fakeStore(fallbackShare = 0.5) {
  const takes: { limit: string; key: string; policy: SharedPolicy; settle: (wait: number | undefined) => void }[] = [];
  const store: RateLimitStore = {
    fallbackShare,
    take: (limit, key, policy) => new Promise((settle) => takes.push({ limit, key, policy, settle })),
  };
  return { store, takes };
}

function appWith(yaml: string, store: RateLimitStore, now = manualClock().now) {
  let forwarded = 0;
  const upstream: Upstream = async () => (forwarded++, new Response('ok'));
  const app = createApp({ config: loadConfig(yaml, 'lb.yaml', { rateLimitStore: store, now }), upstream, clientAddress: () => '192.0.2.10', log: () => {} });
  return { send: (path: string) => app.request(`http://lb.test${path}`), forwarded: () => forwarded };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('a rate limit shared through a store', () => {
  const yaml = `
health_check: false
hsts: max-age=60
paths:
  - path: /
    servers: [localhost:8081]
    rate_limit: { requests: 10, per: 1s, burst: 4 }
`;

  it('asks the store once per request, with the limit, the key and the policy, before any backend sees it', async () => {
    const { store, takes } = fakeStore();
    const lb = appWith(yaml, store);
    const answer = lb.send('/a');
    await flush();
    expect(takes).toMatchObject([{ limit: expect.stringMatching(/^[0-9a-f]{16}$/), key: 'ip:ffffc000020a', policy: { requests: 10, perMs: 1000, burst: 4 } }]);
    expect(lb.forwarded()).toBe(0);
    takes[0]!.settle(0);
    expect((await answer).status).toBe(200);
    expect(lb.forwarded()).toBe(1);
  });

  it("answers 429 with Retry-After and the request id when the store's bucket is empty", async () => {
    const { store, takes } = fakeStore();
    const lb = appWith(yaml, store);
    const answer = lb.send('/a');
    await flush();
    takes[0]!.settle(2500);
    const response = await answer;
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(lb.forwarded()).toBe(0);
  });

  it("falls back to this instance's share of the limit when the store cannot answer", async () => {
    const { store, takes } = fakeStore(0.5);
    const lb = appWith(yaml, store);
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const answer = lb.send('/a');
      await flush();
      takes.at(-1)!.settle(undefined);
      statuses.push((await answer).status);
    }
    // A burst of 4 at a share of 0.5 is 2 here.
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('asks the route limit only once the top-level one let the request pass (one refusal spends no other token)', async () => {
    const { store, takes } = fakeStore();
    const lb = appWith(`rate_limit: { requests: 100, per: 1s }\n${yaml}`, store);
    const answer = lb.send('/a');
    await flush();
    expect(takes.map((t) => t.policy.requests)).toEqual([100]);
    takes[0]!.settle(1000);
    expect((await answer).status).toBe(429);
    expect(takes).toHaveLength(1);
  });

  it('asks a store that takes several buckets at once for the top-level and route limits in one call, and answers with the first refusal', async () => {
    const { store, takes } = fakeStore();
    const calls: SharedBucket[][] = [];
    let waits: readonly number[] | undefined = [0, 1500];
    const lb = appWith(`rate_limit: { requests: 100, per: 1s }\n${yaml}`, { ...store, takeAll: async (buckets) => (calls.push([...buckets]), waits) });
    const refused = await lb.send('/a');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(calls.map((buckets) => buckets.map((bucket) => bucket.policy.requests))).toEqual([[100, 10]]);
    waits = [0, 0];
    expect((await lb.send('/a')).status).toBe(200);
    // The store cannot answer: each limit's local bucket does, without asking again.
    waits = undefined;
    expect((await lb.send('/a')).status).toBe(200);
    expect(calls).toHaveLength(3);
    expect(takes).toHaveLength(0);
  });

  it('never asks the store without a rate limit, and a request without one stays synchronous', async () => {
    const { store, takes } = fakeStore();
    const lb = appWith('health_check: false\npaths:\n  - path: /\n    servers: [localhost:8081]\n', store);
    expect((await lb.send('/a')).status).toBe(200);
    expect(takes).toHaveLength(0);
  });

  it('names a shared bucket by the route and the limit, not by where they are written: a config that moves a route keeps its bucket, and no two routes or policies share one', async () => {
    const login = '  - path: /login\n    servers: [localhost:8081]\n    rate_limit: { requests: 2, per: 1m }\n';
    const search = '  - path: /search\n    servers: [localhost:8081]\n    rate_limit: { requests: 100, per: 1s }\n';
    const limitOf = async (yaml: string, path: string) => {
      const { store, takes } = fakeStore();
      const answer = appWith(`health_check: false\npaths:\n${yaml}`, store).send(path);
      await flush();
      takes[0]!.settle(0);
      await answer;
      return takes[0]!.limit;
    };
    const v1 = await limitOf(login + search, '/login');
    // v2 puts /search first: /login is paths[1] now, and keeps its bucket.
    expect(await limitOf(search + login, '/login')).toBe(v1);
    expect(await limitOf(search + login, '/search')).not.toBe(v1);
    expect(await limitOf(login.replace('requests: 2', 'requests: 3') + search, '/login')).not.toBe(v1);
    expect(await limitOf(login.replace('/login', '/login\n    match: { methods: [GET] }') + search, '/login')).not.toBe(v1);
  });
});
