import { describe, expect, it } from 'vitest';
import { appWith, configErrors } from './rulesFixture.ts';

const TUTORIAL_MANGO = `
hosts:
  - host: www.mango.com
    header_rules:
      add: { MyCustomHeader: Test }
      remove: { Host: www.mango.com }
    param_rules:
      add: { MyCustomParam: Test }
      remove: { RemoveMe: Remove }
    rewrite_rules:
      replace: { v1: v2 }
    servers: [localhost:8081]
`;

describe("the tutorial's header, param and rewrite rules", () => {
  const lb = appWith(TUTORIAL_MANGO);
  const mango = (path: string, headers: Record<string, string> = {}) => lb.send(path, { headers: { host: 'www.mango.com', ...headers } });

  it('adds MyCustomHeader and removes the Host so the backend sees its own', async () => {
    await mango('/');
    expect(lb.last().headers.get('mycustomheader')).toBe('Test');
    expect(lb.last().headers.has('host')).toBe(false);
  });

  it('adds MyCustomParam and drops RemoveMe from the query', async () => {
    await mango('/?RemoveMe=Remove&keep=1');
    expect(lb.last().target).toBe('/?keep=1&MyCustomParam=Test');
  });

  it('serves /v1 by the backend\'s /v2', async () => {
    await mango('/v1');
    expect(lb.last().target).toBe('/v2?MyCustomParam=Test');
  });

  it("replaces what the client sent under an added header's name, as the tutorial does", async () => {
    await mango('/', { MyCustomHeader: 'from-client' });
    expect(lb.last().headers.get('mycustomheader')).toBe('Test');
  });
});

describe('header rules', () => {
  const lb = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    header_rules:
      remove: [x-drop-me, X-Both]
      set: { X-Set: fixed }
      append: { X-Both: appended, Via: switchyard }
    response_header_rules:
      remove: [X-Backend]
      set: { Cache-Control: no-store }
      append: { Vary: Origin }
`);

  it('removes names in any case, sets over the client, and appends after the client', async () => {
    const response = await lb.send('/', { headers: { 'X-DROP-ME': '1', 'x-set': 'client', 'x-both': 'client', via: '1.1 upstream' } });
    const headers = lb.last().headers;
    expect(headers.has('x-drop-me')).toBe(false);
    expect(headers.get('x-set')).toBe('fixed');
    expect(headers.get('x-both')).toBe('appended');
    expect(headers.get('via')).toBe('1.1 upstream, switchyard');
    expect(response.status).toBe(200);
  });

  it('edits response headers', async () => {
    const response = await lb.send('/');
    expect(response.headers.has('x-backend')).toBe(false);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('vary')).toBe('Origin');
  });
});

describe('query rules', () => {
  const lb = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    param_rules:
      remove: [RemoveMe]
      set: { page: "1" }
      append: { tag: "a b&c" }
`);

  it('keeps every other byte of the raw query as sent', async () => {
    await lb.send('/?a=%7e&b=1+2&&c&z=%2F%zz');
    expect(lb.last().target).toBe('/?a=%7e&b=1+2&&c&z=%2F%zz&page=1&tag=a%20b%26c');
  });

  it('removes a parameter however its name is encoded', async () => {
    await lb.send('/?Remove%4De=1&Remove+Me=2&RemoveMe&removeme=3');
    expect(lb.last().target).toBe('/?Remove+Me=2&removeme=3&page=1&tag=a%20b%26c');
  });

  it('replaces every occurrence of a set parameter with one', async () => {
    await lb.send('/?page=7&x=1&page=8');
    expect(lb.last().target).toBe('/?x=1&page=1&tag=a%20b%26c');
  });

  it('leaves a query untouched, down to a bare "?", when no rule applies', async () => {
    const untouched = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    param_rules: { remove: [gone] }
`);
    await untouched.send('/x?');
    expect(untouched.last().target).toBe('/x?');
    await untouched.send('/x?gone=1');
    expect(untouched.last().target).toBe('/x');
  });
});

describe('path rewrites', () => {
  const lb = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    rewrite_rules:
      strip_prefix: /api
      replace: { v1: v2, old/name: new }
      regex:
        - { pattern: '^/users/(\\d+)/profile$', replacement: '/profiles/$1' }
        - { pattern: '^/(?<first>[a-z]+)-(?<second>[a-z]+)$', replacement: '/$<second>/$<first>' }
`);

  it.each([
    ['/api/v1/things', '/v2/things'],
    ['/api', '/'],
    ['/apix/v1', '/apix/v2'],
    ['/x/v1', '/x/v2'],
    ['/v1/', '/v2/'],
    ['/v10', '/v10'],
    ['/dev1/v1x', '/dev1/v1x'],
    ['/old/name/x', '/new/x'],
    ['/old/names', '/old/names'],
    ['/users/42/profile', '/profiles/42'],
    ['/api/users/7/profile', '/profiles/7'],
    ['/left-right', '/right/left'],
  ])('rewrites %s to %s', async (from, to) => {
    await lb.send(from);
    expect(lb.last().target).toBe(to);
  });

  it('compares non-ASCII and encoded segments as requests spell them', async () => {
    const lb2 = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    rewrite_rules: { strip_prefix: /%61pi, replace: { café: coffee } }
`);
    await lb2.send('/api/caf%c3%a9/x');
    expect(lb2.last().target).toBe('/coffee/x');
  });

  it('refuses to send a regex result that cannot be normalised', async () => {
    const bad = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    rewrite_rules: { regex: [{ pattern: '^/x/(.*)$', replacement: '/../$1' }] }
`);
    const response = await bad.send('/x/secret');
    expect(response.status).toBe(500);
    expect(bad.seen).toHaveLength(0);
  });

  it('normalises what a regex produces', async () => {
    const lb2 = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    rewrite_rules: { regex: [{ pattern: '^/x/(.*)$', replacement: '/a//b/./$1' }] }
`);
    await lb2.send('/x/y');
    expect(lb2.last().target).toBe('/a/b/y');
  });
});

describe('upstream Host', () => {
  const hostOf = async (upstreamHost: string | undefined, headerRules = '') => {
    const lb = appWith(`
upstream_host: ${upstreamHost ?? 'keep'}
paths:
  - path: /
    servers: [localhost:8081]
    ${headerRules}
`);
    await lb.send('/', { headers: { host: 'client.example' } });
    return lb.last().headers.get('host');
  };

  it("keeps the client's Host by default", async () => {
    expect(await hostOf(undefined)).toBe('client.example');
  });
  it("sends the backend's own with `backend`", async () => {
    expect(await hostOf('backend')).toBe(null);
  });
  it('sends a fixed name', async () => {
    expect(await hostOf('api.internal:8443')).toBe('api.internal:8443');
  });
  it("lets a route's upstream_host override the global one", async () => {
    const lb = appWith(`
upstream_host: backend
paths:
  - path: /
    upstream_host: route.internal
    servers: [localhost:8081]
`);
    await lb.send('/', { headers: { host: 'client.example' } });
    expect(lb.last().headers.get('host')).toBe('route.internal');
  });
});

describe('interpolation', () => {
  const lb = appWith(`
paths:
  - path: /
    servers: [localhost:8081]
    header_rules:
      set:
        X-Real-IP: \${client_address}
        X-Seen: "\${method} \${scheme}://\${host}\${path}"
        X-Request-Id: \${request_id}
        X-Price: "$$5 and $ alone"
    param_rules:
      set: { from: "\${client_address}" }
    response_header_rules:
      set: { X-Request-Id: "\${request_id}" }
`);

  it('fills in the client address, host, method, path and scheme', async () => {
    await lb.send('/a/../b', { headers: { host: 'www.example' } });
    const headers = lb.last().headers;
    expect(headers.get('x-real-ip')).toBe('192.0.2.10');
    expect(headers.get('x-seen')).toBe('GET http://www.example/b');
    expect(headers.get('x-price')).toBe('$5 and $ alone');
    expect(lb.last().target).toBe('/b?from=192.0.2.10');
  });

  it('gives each request one id, the same upstream and downstream', async () => {
    const first = await lb.send('/');
    const id = lb.last().headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.headers.get('x-request-id')).toBe(id);
    await lb.send('/');
    expect(lb.last().headers.get('x-request-id')).not.toBe(id);
  });
});

describe('global and route rules together', () => {
  const lb = appWith(`
header_rules:
  set: { X-Env: prod, X-Global: yes }
param_rules:
  set: { env: prod }
rewrite_rules:
  strip_prefix: /edge
response_header_rules:
  set: { X-Served: global }
paths:
  - path: /
    servers: [localhost:8081]
    header_rules:
      remove: [X-Global]
      set: { X-Env: staging }
    param_rules:
      remove: [env]
    rewrite_rules:
      replace: { v1: v2 }
    response_header_rules:
      set: { X-Served: route }
`);

  it('applies the global rules first and the route rules last, so the route has the last word', async () => {
    const response = await lb.send('/edge/v1?a=1');
    const headers = lb.last().headers;
    expect(headers.get('x-env')).toBe('staging');
    expect(headers.has('x-global')).toBe(false);
    expect(lb.last().target).toBe('/v2?a=1');
    expect(response.headers.get('x-served')).toBe('route');
  });
});

describe('rule config errors name the place', () => {
  const route = (rules: string) => `paths:\n  - path: /\n    servers: [localhost:8081]\n${rules}`;

  it.each([
    ['    rewrite_rules:\n      regex: [{ pattern: "(", replacement: x }]\n', /^lb\.yaml:5:\d+: paths\[0\]\.rewrite_rules\.regex\[0\]\.pattern: "\(" is not a valid regular expression/],
    ['    header_rules:\n      set: { X-A: "${nope}" }\n', /^lb\.yaml:5:\d+: paths\[0\]\.header_rules\.set\.X-A: unknown variable "\$\{nope\}"/],
    ['    header_rules:\n      set: { X-A: "${host" }\n', /paths\[0\]\.header_rules\.set\.X-A: .*opens "\$\{" without closing it/],
    ['    header_rules:\n      set: { Transfer-Encoding: chunked }\n', /paths\[0\]\.header_rules\.set\.Transfer-Encoding: .*framed/],
    ['    header_rules:\n      remove: ["bad name"]\n', /paths\[0\]\.header_rules\.remove\[0\]: "bad name" is not a header name/],
    ['    rewrite_rules:\n      replace: { "../x": y }\n', /paths\[0\]\.rewrite_rules\.replace\.\.\.\/x: the segment/],
    ['    rewrite_rules:\n      strip_prefix: /a/../..\n', /paths\[0\]\.rewrite_rules\.strip_prefix: the prefix/],
    ['    upstream_host: "bad host/x"\n', /paths\[0\]\.upstream_host: "bad host\/x" is not keep, backend, or a host name/],
    ['    rewrite_rules:\n      replce: { a: b }\n', /unknown key "replce"; did you mean "replace"\?/],
  ])('refuses %j', (rules, message) => {
    expect(configErrors(route(rules))).toMatch(message);
  });
});
