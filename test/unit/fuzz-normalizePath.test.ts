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
      const problem = problemWith(out);
      if (problem) throw new Error(`seed ${SEED}, case ${n}: ${JSON.stringify(input)} -> ${JSON.stringify(out)}: ${problem}`);
    }
    // A generous bound: this catches a hang or a blow-up, not a slow machine.
    expect(performance.now() - started).toBeLessThan(15_000);
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
      const normal = normalizePath(spelled);
      if (normal !== canonical) expect(normal, `seed ${SEED + 1}, case ${n}: ${spelled} vs ${canonical}`).toBe(canonical);
    }
    // A generous bound: this catches a hang or a blow-up, not a slow machine.
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('does not take quadratic time on long hostile paths', () => {
    for (const path of ['/' + '%2e%2e/'.repeat(5_000), '/a' + '/.'.repeat(50_000), '/' + '%41'.repeat(30_000), '/' + 'a/'.repeat(30_000) + '..'.repeat(1)]) {
      const started = performance.now();
      normalizePath(path);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });
});

/** What is wrong with a normalised path, if anything. */
function problemWith(out: string): string | undefined {
  if (!out.startsWith('/')) return 'does not start with /';
  if (normalizePath(out) !== out) return 'is not a fixed point';
  if (out.includes('//')) return 'has //';
  if (/(^|\/)\.\.?(\/|$)/.test(out)) return 'has a dot segment';
  if (/%(2[fF]|5[cC]|00)/.test(out)) return 'has an encoded slash, backslash or NUL';
  if (out.includes('\\')) return 'has a backslash';
  for (const [, hex] of out.matchAll(/%(..)/g)) {
    if (hex !== hex.toUpperCase()) return `has a lower-case escape %${hex}`;
    if (UNRESERVED.test(String.fromCharCode(parseInt(hex, 16)))) return `has an encoded unreserved character %${hex}`;
  }
  return undefined;
}

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
