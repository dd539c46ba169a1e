import { describe, expect, it } from 'vitest';
import { countLookups } from '../helpers/countLookups.ts';
import { normalizeHost } from '../../src/core/routing/normalizeHost.ts';
import { RouteTable } from '../../src/core/routing/RouteTable.ts';

describe('normalizeHost', () => {
  it.each([
    ['WWW.Mango.COM', 'www.mango.com'],
    ['www.mango.com:8080', 'www.mango.com'],
    ['www.mango.com.', 'www.mango.com'],
    ['www.mango.com.:80', 'www.mango.com'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
  ])('compares %s as %s', (input, expected) => expect(normalizeHost(input)).toBe(expected));
});

describe('RouteTable', () => {
  const table = new RouteTable<string>();
  table.add('www.mango.com', '/', 'mango');
  table.add('www.mango.com', '/api', 'mango-api');
  table.add('*.example.com', '/', 'wildcard');
  table.add('*.eu.example.com', '/', 'eu-wildcard');
  table.add('shop.example.com', '/', 'shop');
  table.add(undefined, '/mango', 'path-mango');
  table.add(undefined, '/mango/juice', 'path-juice');

  it('matches hosts case-insensitively, ignoring port and trailing dot', () => {
    expect(table.match('WWW.MANGO.COM.:8080', '/x')).toBe('mango');
  });

  it('matches path prefixes on segment boundaries only', () => {
    expect(table.match(undefined, '/mango')).toBe('path-mango');
    expect(table.match(undefined, '/mango/')).toBe('path-mango');
    expect(table.match(undefined, '/mango/x')).toBe('path-mango');
    expect(table.match(undefined, '/mangos')).toBeUndefined();
  });

  it('prefers the longest prefix', () => {
    expect(table.match(undefined, '/mango/juice/1')).toBe('path-juice');
    expect(table.match('www.mango.com', '/api/v1')).toBe('mango-api');
    expect(table.match('www.mango.com', '/apix')).toBe('mango');
  });

  it('prefers an exact host over a wildcard, and the most specific wildcard', () => {
    expect(table.match('shop.example.com', '/')).toBe('shop');
    expect(table.match('a.example.com', '/')).toBe('wildcard');
    expect(table.match('a.b.example.com', '/')).toBe('wildcard');
    expect(table.match('a.eu.example.com', '/')).toBe('eu-wildcard');
    expect(table.match('example.com', '/')).toBeUndefined();
  });

  it('tries host routes before path-only routes, and falls back to them', () => {
    expect(table.match('www.mango.com', '/mango')).toBe('mango');
    expect(table.match('www.pear.com', '/mango')).toBe('path-mango');
    expect(table.match(undefined, '/apple')).toBeUndefined();
  });

  it('refuses the same host and path twice, naming the route already there', () => {
    const t = new RouteTable<string>();
    expect(t.add('a.com', '/x/', '1')).toBeUndefined();
    expect(t.add('A.com.', '/x', '2')).toBe('1');
    expect(t.add('*.a.com', '/x', '3')).toBeUndefined();
    expect(t.add(undefined, '/x', '4')).toBeUndefined();
    expect(t.add(undefined, '/x/', '5')).toBe('4');
  });

  it('finds a route among 10,000 by probing segments, not scanning', () => {
    const big = new RouteTable<number>();
    for (let i = 0; i < 10_000; i++) big.add(undefined, `/r${i}`, i);
    expect(big.match(undefined, '/r9999/x/y')).toBe(9999);
  });
});

// Work is counted, not timed: the characters of the keys looked up. Slicing and looking up every
// prefix of a path of n segments costs O(n^2) of them, about 64 million for this path.
describe('RouteTable lookups grow with the request, not its square', () => {
  const path = '/a'.repeat(8_000);

  it('reads a 16 KB path of 8,000 segments with keys adding up to its length at most', () => {
    const table = new RouteTable<string>();
    table.add(undefined, '/', 'root');
    table.add(undefined, '/b', 'b');
    table.add('www.mango.com', '/a/a/b', 'mango');
    for (const host of [undefined, 'www.mango.com']) {
      const { result, keyChars } = countLookups(() => table.match(host, path));
      expect(result).toBe('root');
      expect(keyChars).toBeLessThanOrEqual(2 * path.length);
    }
  });

  it('walks a route 7,000 segments deep with keys adding up to the path length at most', () => {
    const table = new RouteTable<string>();
    table.add(undefined, '/a'.repeat(7_000), 'deep');
    table.add(undefined, '/a'.repeat(3), 'shallow');
    const { result, probes, keyChars } = countLookups(() => table.match(undefined, `${path}/`));
    expect(result).toBe('deep');
    expect(keyChars).toBeLessThanOrEqual(2 * path.length);
    expect(probes).toBeGreaterThanOrEqual(7_000);
  });

  it('reads a Host of 8,000 labels without looking up each of its suffixes', () => {
    const table = new RouteTable<string>();
    table.add('*.example.com', '/', 'wildcard');
    table.add('*.eu.example.com', '/x', 'eu');
    const host = `${'a.'.repeat(8_000)}eu.example.com`;
    const { result, keyChars } = countLookups(() => table.match(host, '/'));
    expect(result).toBe('wildcard');
    expect(keyChars).toBeLessThanOrEqual(2 * host.length);
  });
});
