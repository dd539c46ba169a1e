import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { MatchRequest } from '../../src/core/routing/MatchRequest.ts';
import { countLookups } from '../helpers/countLookups.ts';
import { errorsOf } from '../helpers/configErrors.ts';

/** A config whose path-only `/` route is `general` and whose `hosts` route for m.test carries `match`. */
function routesWith(match: string, routeKeys = '') {
  const { routes } = loadConfig(`hosts:\n  - host: m.test\n    match: ${match}\n${routeKeys}    servers: [localhost:1]\npaths:\n  - path: /\n    servers: [localhost:2]\n`, 'lb.yaml');
  return (init: { method?: string; headers?: Record<string, string>; query?: string } = {}) => {
    const headers = new FieldList();
    for (const [name, value] of Object.entries(init.headers ?? {})) headers.append(name, value);
    return routes.match('m.test', '/x', { method: init.method ?? 'GET', headers, query: init.query ?? '' })?.host === 'm.test' ? 'matched' : 'general';
  };
}

describe('match conditions', () => {
  it('methods: compared in upper case, GET bringing HEAD', () => {
    const route = routesWith('{ methods: [get, Post] }');
    expect(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'].map((method) => route({ method }))).toEqual(['matched', 'matched', 'matched', 'general', 'general']);
  });

  it('methods: on a route with cors, a CORS preflight is matched by the method it asks about, so that cors answers it', () => {
    const route = routesWith('{ methods: [POST] }', '    cors: { origins: ["https://app.test"] }\n');
    const preflight = (asks: string) => ({ method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': asks } });
    expect(route(preflight('POST'))).toBe('matched');
    expect(route(preflight('DELETE'))).toBe('general');
    // An OPTIONS that is no preflight (no Origin) is an OPTIONS.
    expect(route({ method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } })).toBe('general');
    // Without cors, the route has no answer for a preflight: an OPTIONS goes where OPTIONS goes.
    expect(routesWith('{ methods: [POST] }')(preflight('POST'))).toBe('general');
  });

  it('headers: the name without case, the value exactly', () => {
    const route = routesWith('{ headers: { X-Canary: "1" } }');
    expect(route({ headers: { 'x-canary': '1' } })).toBe('matched');
    expect(route({ headers: { 'X-CANARY': '1' } })).toBe('matched');
    expect(route({ headers: { 'x-canary': '10' } })).toBe('general');
    expect(route({})).toBe('general');
  });

  it('takes an unquoted whole number as its text', () => {
    expect(routesWith('{ headers: { x-canary: 1 } }')({ headers: { 'x-canary': '1' } })).toBe('matched');
  });

  it('headers: compared case-sensitively', () => {
    const route = routesWith('{ headers: { x-env: Beta } }');
    expect(route({ headers: { 'x-env': 'Beta' } })).toBe('matched');
    expect(route({ headers: { 'x-env': 'beta' } })).toBe('general');
  });

  it('regex: unanchored and case-sensitive, as RegExp#test', () => {
    const route = routesWith('{ headers: { user-agent: { regex: "Mobile|Android" } } }');
    expect(route({ headers: { 'user-agent': 'Mozilla/5.0 (Linux; Android 14)' } })).toBe('matched');
    expect(route({ headers: { 'user-agent': 'mozilla android' } })).toBe('general');
    expect(route({})).toBe('general');
    const anchored = routesWith('{ query: { v: { regex: "^[0-9]+$" } } }');
    expect(anchored({ query: '?v=42' })).toBe('matched');
    expect(anchored({ query: '?v=42a' })).toBe('general');
  });

  it('present: true wants the name with any value, false wants it absent', () => {
    const wanted = routesWith('{ headers: { authorization: { present: true } } }');
    expect(wanted({ headers: { authorization: '' } })).toBe('matched');
    expect(wanted({})).toBe('general');
    const unwanted = routesWith('{ cookies: { session: { present: false } } }');
    expect(unwanted({})).toBe('matched');
    expect(unwanted({ headers: { cookie: 'a=1; session=x' } })).toBe('general');
  });

  it('query: values percent-decoded as the client means them, the first occurrence counting', () => {
    const route = routesWith('{ query: { "café": "a b/c" } }');
    expect(route({ query: '?caf%C3%A9=a+b%2Fc' })).toBe('matched');
    expect(route({ query: '?café=a%20b/c&café=other' })).toBe('matched');
    expect(route({ query: '?café=other&café=a+b/c' })).toBe('general');
    expect(route({ query: '?cafe=a+b/c' })).toBe('general');
  });

  it('cookies: split per RFC 6265, the name case-sensitive, quotes dropped, the first of a name counting', () => {
    const route = routesWith('{ cookies: { canary: "1" } }');
    expect(route({ headers: { cookie: 'theme=dark; canary=1' } })).toBe('matched');
    expect(route({ headers: { cookie: 'canary="1"' } })).toBe('matched');
    expect(route({ headers: { cookie: 'Canary=1' } })).toBe('general');
    expect(route({ headers: { cookie: 'canary=0; canary=1' } })).toBe('general');
    expect(route({ headers: { cookie: 'xcanary=1' } })).toBe('general');
  });

  it('wants every condition to hold', () => {
    const route = routesWith('{ methods: [POST], headers: { x-a: "1" }, query: { b: "2" }, cookies: { c: "3" } }');
    const all = { method: 'POST', headers: { 'x-a': '1', cookie: 'c=3' }, query: '?b=2' };
    expect(route(all)).toBe('matched');
    expect(route({ ...all, method: 'GET' })).toBe('general');
    expect(route({ ...all, query: '?b=3' })).toBe('general');
    expect(route({ ...all, headers: { 'x-a': '1' } })).toBe('general');
  });

  it('says which condition failed and with what value, for explain', () => {
    const { routes } = loadConfig('paths:\n  - path: /\n    match: { methods: [GET], cookies: { canary: "1" } }\n    servers: [localhost:1]\n', 'lb.yaml');
    const headers = new FieldList();
    headers.append('cookie', 'canary=0');
    const route = routes.match(undefined, '/')!;
    expect(route).toBeUndefined();
    const [candidate] = [...routes.candidates(undefined, '/')];
    const failure = candidate.match!.failure(routes.matchRequest({ method: 'GET', headers, query: '' }));
    expect(failure && [failure.condition.field, failure.condition.description, failure.actual]).toEqual(['cookies.canary', 'cookies.canary = "1"', '0']);
  });
});

describe('match in the config', () => {
  it('refuses a route no request could tell from an earlier one, naming both', () => {
    const text = [
      'hosts:',
      '  - host: a.test',
      '    path: /api',
      '    match: { headers: { X-Canary: "1" }, methods: [post] }',
      '    servers: [localhost:1]',
      '  - host: A.test',
      '    path: /api/',
      '    match: { methods: [POST], headers: { x-canary: "1" } }',
      '    servers: [localhost:2]',
      '  - host: a.test',
      '    path: /api',
      '    match: { methods: [POST], headers: { x-canary: "2" } }',
      '    servers: [localhost:3]',
      '',
    ].join('\n');
    expect(errorsOf(text)).toEqual(['lb.yaml:8:12: hosts[1].match: another route, hosts[0], already serves A.test/api/ with the same match conditions: no request could tell them apart']);
  });

  it('refuses a catastrophically backtracking pattern, naming its field', () => {
    expect(errorsOf('paths:\n  - path: /\n    match: { headers: { x-a: { regex: "^(a+)+$" } } }\n    servers: [localhost:1]\n')).toEqual([
      expect.stringMatching(/^lb\.yaml:3:\d+: paths\[0\]\.match\.headers\.x-a\.regex: "\^\(a\+\)\+\$" backtracks catastrophically \(ReDoS\)/),
    ]);
  });

  it('refuses a header name that is not a token, an empty methods list and a value of the wrong shape', () => {
    expect(errorsOf('paths:\n  - path: /\n    match: { headers: { "x a": "1" } }\n    servers: [localhost:1]\n')[0]).toMatch(/paths\[0\]\.match\.headers.*is not a header name/);
    expect(errorsOf('paths:\n  - path: /\n    match: { methods: [] }\n    servers: [localhost:1]\n')[0]).toMatch(/paths\[0\]\.match\.methods: methods needs at least one method/);
    expect(errorsOf('paths:\n  - path: /\n    match: { query: { a: { equals: "1" } } }\n    servers: [localhost:1]\n')[0]).toMatch(/paths\[0\]\.match\.query\.a\.equals: unknown key "equals"/);
    expect(errorsOf('paths:\n  - path: /\n    match: { query: { a: { regex: "1", present: true } } }\n    servers: [localhost:1]\n')[0]).toMatch(/paths\[0\]\.match\.query\.a: write one of regex or present/);
    expect(errorsOf('paths:\n  - path: /\n    match: { query: { a: [1] } }\n    servers: [localhost:1]\n')[0]).toMatch(/paths\[0\]\.match\.query\.a\.0: unknown key "0"; expected one of regex, present/);
    expect(errorsOf('paths:\n  - path: /\n    match: { query: { a: 1.5 } }\n    servers: [localhost:1]\n')[0]).toMatch(/paths\[0\]\.match\.query\.a: expected a text value, \{ regex: PATTERN \} or \{ present: true \| false \}/);
  });
});

describe('hostile requests against match conditions', () => {
  const wanted = { query: new Set(['canary']), cookies: new Set(['canary']) };

  it('reads 20,000 query parameters once, however many conditions ask, keeping only the names asked for', () => {
    const query = `?${Array.from({ length: 20_000 }, (_, i) => `p${i}=${i}`).join('&')}&canary=1`;
    const request = new MatchRequest({ method: 'GET', headers: new FieldList(), query }, wanted);
    const { result, probes } = countLookups(() => Array.from({ length: 1_000 }, () => request.queryParam('canary')));
    expect(result.every((value) => value === '1')).toBe(true);
    // One Set#has per parameter on the one parse, then a Map#get per question.
    expect(probes).toBeLessThan(20_000 + 3 * 1_000 + 10);
  });

  it('reads 10,000 cookies once, however many conditions ask', () => {
    const headers = new FieldList();
    headers.append('cookie', `${Array.from({ length: 10_000 }, (_, i) => `c${i}=${i}`).join('; ')}; canary=1`);
    const request = new MatchRequest({ method: 'GET', headers, query: '' }, wanted);
    const { result, probes } = countLookups(() => Array.from({ length: 1_000 }, () => request.cookie('canary')));
    expect(result.every((value) => value === '1')).toBe(true);
    expect(probes).toBeLessThan(10_000 + 3 * 1_000 + 10);
  });
});
