import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { errorsOf } from '../helpers/configErrors.ts';
import { manualClock } from '../helpers/manualClock.ts';
import { namingUpstream, throughBalancer } from '../helpers/throughBalancer.ts';
import type { Upstream } from '../../src/core/Upstream.ts';

const A = 'http://localhost:8081';
const B = 'http://localhost:8082';

describe('named pools: one Pool shared by the routes naming it', () => {
  const text = `
health_check: false
passive_health: { failures: 1, cooldown: 1m }
pools:
  shop:
    algorithm: round_robin
    servers: [localhost:8081, localhost:8082]
hosts:
  - host: a.test
    pool: shop
  - host: b.test
    pool: shop
`;

  it('gives both routes the same pool object, and lists it once', () => {
    const config = loadConfig(text, 'lb.yaml');
    const [a, b] = config.routesInOrder;
    expect(a.pools[0]).toBe(b.pools[0]);
    expect(a.pools[0].name).toBe('shop');
    expect(config.pools).toHaveLength(1);
    expect(config.backends).toHaveLength(2);
  });

  it('skips via one route a backend ejected by a failure seen via the other', async () => {
    const clock = manualClock();
    const config = loadConfig(text, 'lb.yaml', { now: clock.now });
    const sent: string[] = [];
    const upstream: Upstream = async (request) => {
      sent.push(request.origin);
      return { status: request.origin === A ? 502 : 200, headers: new Headers(), body: null };
    };
    // Round robin through a.test until A fails once: passive health ejects it after one failure.
    for (let i = 0; i < 2; i++) await throughBalancer(config, upstream, { headers: ['host', 'a.test'] });
    expect(sent).toContain(A);
    expect(config.backends.find((backend) => backend.origin === A)!.health.isEjected(clock.now())).toBe(true);
    sent.length = 0;
    for (let i = 0; i < 6; i++) expect((await throughBalancer(config, upstream, { headers: ['host', 'b.test'] })).answer.status).toBe(200);
    expect(sent).toEqual(Array(6).fill(B));
  });

  it('shares the rotation: two routes taking turns still alternate the backends', async () => {
    const config = loadConfig(text, 'lb.yaml');
    const { upstream, sent } = namingUpstream();
    for (const host of ['a.test', 'b.test', 'a.test', 'b.test']) await throughBalancer(config, upstream, { headers: ['host', host] });
    expect(sent.map((request) => request.origin)).toEqual([A, B, A, B]);
  });

  it('applies the top-level pool defaults to named pools, as to inline ones', () => {
    const config = loadConfig('algorithm: least_connections\nhealth_check: false\npools: { p: { servers: [localhost:1] } }\npaths: [{ path: /, pool: p }]\n', 'lb.yaml');
    expect(config.pools[0].algorithm).toBe('least_connections');
  });

  it('keeps inline servers working beside named pools', async () => {
    const config = loadConfig('health_check: false\npools: { p: { servers: [localhost:8081] } }\npaths: [{ path: /a, pool: p }, { path: /b, servers: [localhost:8082] }]\n', 'lb.yaml');
    const { upstream, sent } = namingUpstream();
    await throughBalancer(config, upstream, { target: '/a' });
    await throughBalancer(config, upstream, { target: '/b' });
    expect(sent.map((request) => request.origin)).toEqual([A, B]);
  });
});

describe('named pools: config errors name the field', () => {
  it('refuses an unknown pool name, suggesting the nearest', () => {
    expect(errorsOf('pools:\n  stable: { servers: [localhost:1] }\npaths:\n  - path: /\n    pool: stabel\n')).toEqual([
      'lb.yaml:5:11: paths[0].pool: unknown pool "stabel"; did you mean "stable"?',
    ]);
  });

  it('refuses a pool name when there is no pools map, saying how to write one', () => {
    expect(errorsOf('paths: [{ path: /, pool: web }]\n')).toEqual([
      'lb.yaml:1:26: paths[0].pool: unknown pool "web"; there is no top-level pools map: add one, as pools: { web: { servers: [HOST:PORT] } }',
    ]);
  });

  it('refuses pool keys on a route that names a pool, saying where they go', () => {
    expect(errorsOf('pools: { web: { servers: [localhost:1] } }\npaths:\n  - path: /\n    pool: web\n    algorithm: round_robin\n')).toEqual([
      'lb.yaml:5:16: paths[0].algorithm: this route sends to pool "web": set algorithm in pools.web, which every route naming it shares',
    ]);
  });

  it('refuses a route with two targets, or none', () => {
    expect(errorsOf('pools: { web: { servers: [localhost:1] } }\npaths:\n  - path: /\n    servers: [localhost:2]\n    pool: web\n')).toEqual([
      'lb.yaml:5:11: paths[0].pool: a route has exactly one of servers, pool, split, redirect, respond; this one has servers and pool',
    ]);
    expect(errorsOf('paths:\n  - path: /\n    algorithm: random\n')).toEqual(['lb.yaml:2:5: paths[0]: a route needs servers, or one of pool, split, redirect or respond']);
  });

  it('refuses a pool name outside its pattern', () => {
    expect(errorsOf('pools:\n  "a b": { servers: [localhost:1] }\npaths: [{ path: /, servers: [localhost:2] }]\n')[0]).toMatch(/^lb\.yaml:2:3: pools\["?a b"?\]|pools.*is not a pool name/);
  });

  it('warns of a pool no route uses', () => {
    const config = loadConfig('pools: { spare: { servers: [localhost:1] } }\npaths: [{ path: /, servers: [localhost:2] }]\n', 'lb.yaml');
    expect(config.warnings).toEqual([
      { file: 'lb.yaml', line: 1, column: 17, path: 'pools.spare', severity: 'warning', message: 'no route sends to pool "spare": name it in a route\'s pool or split, or remove it' },
    ]);
  });

  it('reports a named pool\'s own problems at its place', () => {
    expect(errorsOf('pools:\n  web:\n    algorithm: random\n    hash_on: client_ip\n    servers: [localhost:1]\npaths: [{ path: /, pool: web }]\n')).toEqual([
      'lb.yaml:4:14: pools.web.hash_on: hash_on is only used by algorithm: consistent_hash, and this pool uses random',
    ]);
  });
});
