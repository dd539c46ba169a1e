import { describe, expect, it } from 'vitest';
import { intBelow, pickFrom, prng } from './fuzzPrng.ts';
import { appWith } from './rulesFixture.ts';

// Random spellings of rejected paths, through the whole app: each must be refused (403, or 400
// for a path the balancer will not normalise) and never reach the backend. Seeded.

const SEED = 0xf12e;

describe('the path firewall under random spellings', () => {
  const lb = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    firewall_rules:
      path_reject: [/messages, /apps/private]
`);

  it('refuses every spelling of a rejected path', async () => {
    const random = prng(SEED);
    const started = performance.now();
    for (let n = 0; n < 1_000; n++) {
      const target = pickFrom(random, [['messages'], ['apps', 'private']]);
      const tail = Array.from({ length: intBelow(random, 3) }, () => pickFrom(random, ['1', 'x.y', 'a b', '~z', '..x']));
      const detour = pickFrom(random, ['', '/x/..', '/./', '//', '/x/%2e%2e', '/y/.%2E', '/%2e']);
      let path = detour + '/' + [...target, ...tail].map((segment) => spell(random, segment)).join(slashes(random));
      if (random() < 0.2) path += '/';
      if (random() < 0.2) path += pickFrom(random, ['?a=1', '?', '#f', '?x=/../pictures#y']);
      const before = lb.seen.length;
      const response = await lb.send(path.replaceAll(' ', '%20'));
      const where = `seed ${SEED}, case ${n}: ${path}`;
      expect([400, 403], where).toContain(response.status);
      expect(lb.seen.length, where).toBe(before);
    }
    // A generous bound: this catches a hang, not a slow machine.
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});

function spell(random: () => number, segment: string): string {
  let out = '';
  for (const char of segment) {
    const cased = random() < 0.3 ? char.toUpperCase() : char;
    const hex = cased.charCodeAt(0).toString(16).padStart(2, '0');
    const roll = random();
    out += roll < 0.25 ? `%${hex.toUpperCase()}` : roll < 0.5 ? `%${hex}` : cased;
  }
  return random() < 0.1 ? `${out};${pickFrom(random, ['jsessionid=1', 'x', ''])}` : out;
}

function slashes(random: () => number): string {
  return random() < 0.8 ? '/' : pickFrom(random, ['//', '/./', '/%2e/', '/q/../', '/q/%2E%2e/']);
}
