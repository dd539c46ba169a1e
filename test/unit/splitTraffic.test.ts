import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { hash32 } from '../../src/core/balancing/hash32.ts';
import { errorsOf } from '../helpers/configErrors.ts';
import { seededRandom } from '../helpers/manualClock.ts';
import { namingUpstream, throughBalancer } from '../helpers/throughBalancer.ts';

const STABLE = 'http://localhost:8081';
const CANARY = 'http://localhost:8082';

const config = (route: string, random?: () => number) =>
  loadConfig(
    `
health_check: false
pools:
  stable: { servers: [localhost:8081] }
  canary: { servers: [localhost:8082] }
paths:
  - path: /
${route}
`,
    'lb.yaml',
    { random },
  );

describe('split', () => {
  it('sends 10,000 requests within 1 percentage point of its weights, through admit and forward', async () => {
    const compiled = config('    split: [{ pool: stable, weight: 95 }, { pool: canary, weight: 5 }]', seededRandom(15));
    const { upstream, sent } = namingUpstream();
    for (let i = 0; i < 10_000; i++) await throughBalancer(compiled, upstream);
    const canary = sent.filter((request) => request.origin === CANARY).length / sent.length;
    expect(sent).toHaveLength(10_000);
    expect(Math.abs(canary - 0.05)).toBeLessThan(0.01);
  });

  it('sends nothing to a side of weight 0', async () => {
    const compiled = config('    split: [{ pool: stable, weight: 1 }, { pool: canary, weight: 0 }]', seededRandom(1));
    const { upstream, sent } = namingUpstream();
    for (let i = 0; i < 200; i++) await throughBalancer(compiled, upstream);
    expect(new Set(sent.map((request) => request.origin))).toEqual(new Set([STABLE]));
  });

  it('sets no cookie unless the route says sticky', async () => {
    const { answer } = await throughBalancer(config('    split: [{ pool: stable, weight: 1 }, { pool: canary, weight: 1 }]'), namingUpstream().upstream);
    expect(answer.headers.get('set-cookie')).toBeNull();
  });
});

describe('sticky split', () => {
  /** The cookie of the `/` route's sticky split: switchyard_split_ and the hash of its host and path. */
  const COOKIE = `switchyard_split_${hash32('/').toString(16).padStart(8, '0')}`;
  const sticky = (random: () => number, keys = 'sticky: true') =>
    config(`    split: [{ pool: stable, weight: 50 }, { pool: canary, weight: 50 }]\n    ${keys}`, random);

  it('names the side it drew in a cookie, and keeps a client that sends it back on that side', async () => {
    const compiled = sticky(() => 0.9);
    const { upstream, sent } = namingUpstream();
    const first = await throughBalancer(compiled, upstream);
    expect(sent[0].origin).toBe(CANARY);
    expect(first.answer.headers.get('set-cookie')).toBe(`${COOKIE}=canary; Path=/; HttpOnly; SameSite=Lax`);
    for (let i = 0; i < 50; i++) {
      const again = await throughBalancer(compiled, upstream, { headers: ['host', 'app.test', 'cookie', `a=1; ${COOKIE}=canary`] });
      expect(again.answer.headers.get('set-cookie')).toBeNull();
    }
    expect(new Set(sent.map((request) => request.origin))).toEqual(new Set([CANARY]));
  });

  it('ignores and replaces a cookie naming a side that is gone or weighs 0', async () => {
    const compiled = config('    split: [{ pool: stable, weight: 1 }, { pool: canary, weight: 0 }]\n    sticky: true', () => 0.5);
    const { upstream, sent } = namingUpstream();
    for (const side of ['canary', 'old-pool']) {
      const { answer } = await throughBalancer(compiled, upstream, { headers: ['host', 'app.test', 'cookie', `${COOKIE}=${side}`] });
      expect(answer.headers.get('set-cookie')).toBe(`${COOKIE}=stable; Path=/; HttpOnly; SameSite=Lax`);
    }
    expect(sent.map((request) => request.origin)).toEqual([STABLE, STABLE]);
  });

  it('gives each route its own cookie, so two sticky splits do not undo each other', async () => {
    const compiled = loadConfig(
      `
health_check: false
pools:
  stable: { servers: [localhost:8081] }
  canary: { servers: [localhost:8082] }
paths:
  - path: /a
    split: [{ pool: stable, weight: 50 }, { pool: canary, weight: 50 }]
    sticky: true
  - path: /b
    split: [{ pool: stable, weight: 50 }, { pool: canary, weight: 50 }]
    sticky: true
`,
      'lb.yaml',
      { random: seededRandom(3) },
    );
    const { upstream } = namingUpstream();
    const cookieOf = async (path: string, cookie = '') =>
      (await throughBalancer(compiled, upstream, { target: path, headers: ['host', 'app.test', ...(cookie ? ['cookie', cookie] : [])] })).answer.headers.get('set-cookie')?.split(';')[0];
    const a = (await cookieOf('/a'))!;
    const b = (await cookieOf('/b', a))!;
    expect(a.split('=')[0]).not.toBe(b.split('=')[0]);
    // Back on /a with both cookies: kept, not drawn again.
    expect(await cookieOf('/a', `${a}; ${b}`)).toBeUndefined();
    expect(await cookieOf('/b', `${a}; ${b}`)).toBeUndefined();
  });

  it('gives a canary route beside the general one (same host and path, a match) a cookie of its own', () => {
    const compiled = loadConfig(
      `
health_check: false
pools:
  a: { servers: [localhost:8081] }
  b: { servers: [localhost:8082] }
  c: { servers: [localhost:8083] }
  d: { servers: [localhost:8084] }
hosts:
  - host: x.test
    match: { headers: { x-beta: "1" } }
    split: [{ pool: a, weight: 1 }, { pool: b, weight: 1 }]
    sticky: true
  - host: x.test
    split: [{ pool: c, weight: 1 }, { pool: d, weight: 1 }]
    sticky: true
`,
      'lb.yaml',
    );
    const cookies = compiled.routesInOrder.map((route) => (route.target.kind === 'split' ? route.target.split.sticky?.cookie : undefined));
    expect(cookies[0]).toMatch(/^switchyard_split_[0-9a-f]{8}$/);
    expect(cookies[1]).toMatch(/^switchyard_split_[0-9a-f]{8}$/);
    expect(cookies[0]).not.toBe(cookies[1]);
  });

  it('takes the cookie name and max_age as the pool sticky key spells them', async () => {
    const compiled = sticky(() => 0.1, 'sticky: { cookie: side, max_age: 1h }');
    const { answer } = await throughBalancer(compiled, namingUpstream().upstream);
    expect(answer.headers.get('set-cookie')).toBe('side=stable; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600');
  });
});

describe('split: config errors name the field', () => {
  const pools = 'pools:\n  stable: { servers: [localhost:1] }\n  canary: { servers: [localhost:2] }\npaths:\n  - path: /\n';

  it('refuses an unknown side, suggesting the nearest pool', () => {
    expect(errorsOf(`${pools}    split: [{ pool: stable, weight: 9 }, { pool: canery, weight: 1 }]\n`)).toEqual([
      'lb.yaml:6:50: paths[0].split[1].pool: unknown pool "canery"; did you mean "canary"?',
    ]);
  });

  it('refuses a split whose every weight is 0, a side named twice, and pool keys on the route', () => {
    expect(errorsOf(`${pools}    split: [{ pool: stable, weight: 0 }, { pool: canary, weight: 0 }]\n`)[0]).toMatch(/paths\[0\]\.split: every side of this split has weight 0/);
    expect(errorsOf(`${pools}    split: [{ pool: canary, weight: 1 }, { pool: stable, weight: 1 }, { pool: stable, weight: 1 }]\n`)[0]).toMatch(/paths\[0\]\.split\[2\]\.pool: pool "stable" is already a side of this split/);
    expect(errorsOf(`${pools}    split: [{ pool: stable, weight: 1 }, { pool: canary, weight: 1 }]\n    retries: false\n`)).toEqual([
      'lb.yaml:7:14: paths[0].retries: this route splits between named pools: set retries in each of them (pools.stable, pools.canary)',
    ]);
  });
});
