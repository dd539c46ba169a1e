import { describe, expect, it } from 'vitest';
import { FieldList } from '../../src/core/http/FieldList.ts';
import type { RequestFacts } from '../../src/core/routing/MatchRequest.ts';
import { methodCondition, RouteMatch, valueCondition, type Condition } from '../../src/core/routing/RouteMatch.ts';
import { RouteTable } from '../../src/core/routing/RouteTable.ts';

const when = (...conditions: Condition[]) => new RouteMatch(conditions, { query: [], cookies: [] });
const canaryHeader = valueCondition('headers', 'x-canary', { equals: '1' });
const posts = methodCondition(new Set(['POST']));

function request(method = 'GET', headers: Record<string, string> = {}, query = ''): RequestFacts {
  const fields = new FieldList();
  for (const [name, value] of Object.entries(headers)) fields.append(name, value);
  return { method, headers: fields, query };
}

describe('RouteTable with match conditions', () => {
  const table = new RouteTable<string>();
  table.add('www.mango.com', '/api', 'mango-api-canary', when(canaryHeader));
  table.add('www.mango.com', '/api', 'mango-api-canary-post', when(canaryHeader, posts));
  table.add('www.mango.com', '/', 'mango-root-post', when(posts));
  table.add('*.mango.com', '/api', 'wild-api-canary', when(canaryHeader));
  table.add('*.mango.com', '/', 'wild-root');
  table.add(undefined, '/api', 'path-api-post', when(posts));
  table.add(undefined, '/', 'path-root');

  it('tries the route with more conditions first, whatever the order written', () => {
    expect(table.match('www.mango.com', '/api/x', request('POST', { 'x-canary': '1' }))).toBe('mango-api-canary-post');
    expect(table.match('www.mango.com', '/api/x', request('GET', { 'x-canary': '1' }))).toBe('mango-api-canary');
  });

  it('falls back from a failed match to a shorter path of the same host', () => {
    expect(table.match('www.mango.com', '/api/x', request('POST'))).toBe('mango-root-post');
  });

  it('falls back from the exact host to the wildcard, then to path-only routes', () => {
    // www.mango.com has nothing for a GET without the header: *.mango.com's / serves it.
    expect(table.match('www.mango.com', '/api/x', request('GET'))).toBe('wild-root');
    expect(table.match('a.mango.com', '/api', request('GET', { 'x-canary': '1' }))).toBe('wild-api-canary');
    expect(table.match('www.apple.com', '/api', request('POST'))).toBe('path-api-post');
    expect(table.match('www.apple.com', '/api', request('GET'))).toBe('path-root');
  });

  it('keeps the order written among routes with as many conditions', () => {
    const t = new RouteTable<string>();
    t.add(undefined, '/', 'by-header', when(canaryHeader));
    t.add(undefined, '/', 'by-method', when(posts));
    expect(t.match(undefined, '/', request('POST', { 'x-canary': '1' }))).toBe('by-header');
    const reversed = new RouteTable<string>();
    reversed.add(undefined, '/', 'by-method', when(posts));
    reversed.add(undefined, '/', 'by-header', when(canaryHeader));
    expect(reversed.match(undefined, '/', request('POST', { 'x-canary': '1' }))).toBe('by-method');
  });

  it('answers nothing when every candidate fails, and skips conditioned routes without the request', () => {
    const t = new RouteTable<string>();
    t.add(undefined, '/', 'post-only', when(posts));
    expect(t.match(undefined, '/', request('GET'))).toBeUndefined();
    expect(t.match(undefined, '/')).toBeUndefined();
  });

  it('lists every candidate in precedence order, for explain', () => {
    const names = [...table.candidates('www.mango.com', '/api/x')].map((candidate) => candidate.value);
    expect(names).toEqual(['mango-api-canary-post', 'mango-api-canary', 'mango-root-post', 'wild-api-canary', 'wild-root', 'path-api-post', 'path-root']);
  });

  it('refuses a route that no request could tell from one already there, whatever the order of its conditions', () => {
    const t = new RouteTable<string>();
    expect(t.add('a.com', '/x', '1', when(canaryHeader, posts))).toBeUndefined();
    expect(t.add('A.com', '/x/', '2', when(posts, valueCondition('headers', 'x-canary', { equals: '1' })))).toBe('1');
    expect(t.add('a.com', '/x', '3', when(posts, valueCondition('headers', 'x-canary', { equals: '2' })))).toBeUndefined();
    expect(t.add('a.com', '/x', '4', when(posts))).toBeUndefined();
    expect(t.add('a.com', '/x', '5')).toBeUndefined();
    expect(t.add('a.com', '/x', '6', when())).toBe('5');
  });

  it('finds a route among 10,000, half with conditions, by probing segments, not scanning', () => {
    const big = new RouteTable<number>();
    for (let i = 0; i < 10_000; i++) big.add(undefined, `/r${i}`, i, i % 2 ? when(valueCondition('headers', 'x-tenant', { equals: String(i) })) : undefined);
    big.add(undefined, '/', -1);
    expect(big.match(undefined, '/r9999/x', request('GET', { 'x-tenant': '9999' }))).toBe(9999);
    expect(big.match(undefined, '/r9999/x', request('GET', { 'x-tenant': '1' }))).toBe(-1);
    expect(big.candidates(undefined, "/r9999/x").length).toBe(2);
  });
});
