import { describe, expect, it } from 'vitest';
import { normalizePath } from '../../src/core/path/normalizePath.ts';
import { intBelow, pickFrom, prng } from './fuzzPrng.ts';

// Fuzzes the path normaliser that routing, the firewall and forwarding share. Seeded: a failure
// names its seed and input. Each test stays well under 3 s.

const SEED = 0x5eed5;
const PIECES = ['/', '/', '/', '.', '..', '%', '%2e', '%2E', '%2f', '%2F', '%5c', '%00', '%41', '%7e', '%7E', '%25', '%c3%a9', 'a', 'B', 'z9', '-', '_', '~', ';', '\\', '?', '#', ' ', 'é', '%g1', '%', '%2', 'messages', '//', '/./', '/../'];

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

describe('normalizePath under random input', () => {
  it('never throws, answers quickly, and returns a normal form that is a fixed point', () => {
    const random = prng(SEED);
    const started = performance.now();
    for (let n = 0; n < 30_000; n++) {
      let input = n % 2 === 0 ? '/' : '';
      const length = intBelow(random, 24);
      for (let i = 0; i < length; i++) input += random() < 0.1 ? String.fromCharCode(intBelow(random, 0x3000)) : pickFrom(random, PIECES);
      let out: string | undefined;
      try {
        out = normalizePath(input);
      } catch (error) {
        throw new Error(`seed ${SEED}, case ${n}: normalizePath(${JSON.stringify(input)}) threw ${String(error)}`);
      }
      if (out === undefined) continue;
      const where = `seed ${SEED}, case ${n}: ${JSON.stringify(input)} -> ${JSON.stringify(out)}`;
      expect(out.startsWith('/'), where).toBe(true);
      expect(normalizePath(out), where).toBe(out);
      expect(out.includes('//'), where).toBe(false);
      expect(/(^|\/)\.\.?(\/|$)/.test(out), where).toBe(false);
      expect(/%(2[fF]|5[cC]|00)/.test(out), where).toBe(false);
      expect(out.includes('\\'), where).toBe(false);
      for (const [, hex] of out.matchAll(/%(..)/g)) {
        expect(hex, where).toBe(hex.toUpperCase());
        expect(UNRESERVED.test(String.fromCharCode(parseInt(hex, 16))), where).toBe(false);
      }
    }
    expect(performance.now() - started).toBeLessThan(2_500);
  });

  it('brings every spelling of a path to the same form', () => {
    const random = prng(SEED + 1);
    const started = performance.now();
    const letters = 'abcXYZ019-._~';
    for (let n = 0; n < 5_000; n++) {
      const segments = Array.from({ length: 1 + intBelow(random, 4) }, () =>
        Array.from({ length: 1 + intBelow(random, 5) }, () => pickFrom(random, [...letters])).join(''),
      ).filter((segment) => segment !== '.' && segment !== '..');
      if (segments.length === 0) continue;
      const trailing = random() < 0.3 ? '/' : '';
      const canonical = normalizePath(`/${segments.join('/')}${trailing}`);
      const spelled = `/${segments.map((segment) => respell(random, segment)).join(slashes(random))}${trailing ? slashes(random) : ''}`;
      expect(normalizePath(spelled), `seed ${SEED + 1}, case ${n}: ${spelled} vs ${canonical}`).toBe(canonical);
    }
    expect(performance.now() - started).toBeLessThan(2_500);
  });

  it('does not take quadratic time on long hostile paths', () => {
    for (const path of ['/' + '%2e%2e/'.repeat(5_000), '/a' + '/.'.repeat(50_000), '/' + '%41'.repeat(30_000), '/' + 'a/'.repeat(30_000) + '..'.repeat(1)]) {
      const started = performance.now();
      normalizePath(path);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });
});

/** A different spelling of one segment: escapes in either case, and detours through `.` and `x/..`. */
function respell(random: () => number, segment: string): string {
  let out = '';
  for (const char of segment) {
    const hex = char.charCodeAt(0).toString(16).padStart(2, '0');
    const roll = random();
    out += roll < 0.3 ? `%${hex.toUpperCase()}` : roll < 0.5 ? `%${hex.toLowerCase()}` : char;
  }
  const detour = random();
  if (detour < 0.2) return `.${slashes(random)}${out}`;
  if (detour < 0.4) return `${pickFrom(random, ['zz', '%7a', 'q.q'])}${slashes(random)}${pickFrom(random, ['..', '%2e%2e', '.%2E', '%2e.'])}${slashes(random)}${out}`;
  return out;
}

function slashes(random: () => number): string {
  return '/'.repeat(1 + (random() < 0.2 ? intBelow(random, 3) : 0));
}
