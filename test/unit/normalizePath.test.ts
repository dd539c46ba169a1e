import { describe, expect, it } from 'vitest';
import { normalizePath } from '../../src/core/path/normalizePath.ts';

describe('normalizePath', () => {
  it.each([
    ['/', '/'],
    ['/mango', '/mango'],
    ['/mango/', '/mango/'],
    ['//mango///x', '/mango/x'],
    ['/a/./b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/%6D%61ngo', '/mango'],
    ['/%7e%7E%2d%5f%2e', '/~~-_.'],
    ['/a/%2e%2E/b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%3Ab%3ac', '/a%3Ab%3Ac'],
    ['/a%20b', '/a%20b'],
  ])('normalises %s to %s', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });

  it.each([
    ['an encoded slash', '/messages%2F1'],
    ['an encoded backslash', '/a%5cb'],
    ['a raw backslash', '/a\\b'],
    ['an encoded NUL', '/a%00'],
    ['a malformed escape', '/a%zz'],
    ['a truncated escape', '/a%4'],
    ['a climb above the root', '/../etc/passwd'],
    ['an encoded climb above the root', '/%2e%2e/etc'],
    ['a dot-dot segment with parameters', '/public/..;/messages'],
    ['a dot segment with parameters', '/.;/messages'],
    ['an encoded dot-dot segment with parameters', '/a/%2e%2e;x/messages'],
    ['a path that is not origin-form', 'mango'],
    ['the asterisk form', '*'],
  ])('refuses %s', (_, input) => {
    expect(normalizePath(input)).toBeUndefined();
  });

  it('is idempotent', () => {
    for (const input of ['/a//b/../c/%7e', '/x/./y/', '/%41%2e%2e/b']) {
      const once = normalizePath(input)!;
      expect(normalizePath(once)).toBe(once);
    }
  });
});
