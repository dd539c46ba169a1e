import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { ExplainInputError, explainRequest, parseHeaderField, type RequestToExplain } from '../../src/core/explain/explainRequest.ts';
import { explanationExitCode, formatExplanation } from '../../src/core/explain/formatExplanation.ts';
import { namingUpstream, throughBalancer } from '../helpers/throughBalancer.ts';

// switchyard explain's trace (issue 15, point 7): each step as the request path itself takes it,
// and nothing spent or moved on the config it explains against.

const ALICE = bcrypt.hashSync('wonderland', 4);

const explain = (text: string, request: Partial<RequestToExplain> & { url: string }, options: Parameters<typeof loadConfig>[2] = {}) =>
  explainRequest(loadConfig(text, 'lb.yaml', { env: (name) => (name === 'ALICE' ? ALICE : undefined), ...options }), { method: 'GET', headers: [], from: '127.0.0.1', ...request });

describe('explain: routes', () => {
  const text = `
health_check: false
hosts:
  - host: api.mango.test
    path: /v1
    match: { headers: { x-version: "2" } }
    servers: [localhost:8082]
  - host: api.mango.test
    servers: [localhost:8081]
`;

  it('shows each route considered, why a match failed, and the one that serves the request', () => {
    const explanation = explain(text, { url: 'http://api.mango.test/v1/items', headers: [['X-Version', '1']] });
    expect(explanation.path).toBe('/v1/items');
    expect(explanation.routes).toEqual([
      { route: 'api.mango.test/v1', at: 'hosts[0]', matched: false, why: 'match: headers.x-version = "2", but it is "1"' },
      { route: 'api.mango.test', at: 'hosts[1]', matched: true, why: 'host and path' },
    ]);
    expect(explanation.route).toBe('api.mango.test');
    expect(explanation.verdict).toMatchObject({ forwarded: true, status: null });
    expect(explanationExitCode(explanation)).toBe(0);
  });

  it('shows the normalised path and a 404 naming the host and path no route serves', () => {
    const explanation = explain(text, { url: 'http://other.test/a/../b//c' });
    expect(explanation.path).toBe('/b/c');
    expect(explanation.routes).toEqual([]);
    expect(explanation.verdict).toEqual({ forwarded: false, status: 404, why: 'no route serves host other.test and path /b/c', provided: [] });
    expect(explanationExitCode(explanation)).toBe(1);
  });

  it('lists, for a 404, what each route serves instead: its host, its path, or both', () => {
    const config = `
health_check: false
hosts:
  - host: www.mango.test
    servers: [localhost:8081]
  - host: '*.apple.test'
    path: /api
    servers: [localhost:8082]
paths:
  - path: /static
    servers: [localhost:8083]
`;
    const wrongHost = explain(config, { url: 'http://mango.test/api' });
    expect(wrongHost.other_routes).toEqual([
      { route: 'www.mango.test', at: 'hosts[0]', matched: false, why: 'serves host www.mango.test, not mango.test' },
      { route: '*.apple.test/api', at: 'hosts[1]', matched: false, why: 'serves host *.apple.test, not mango.test' },
      { route: '/static', at: 'paths[0]', matched: false, why: 'serves path /static, which /api is not under' },
    ]);
    const wrongPath = explain(config, { url: 'http://shop.apple.test/apis' });
    expect(wrongPath.other_routes[1]).toEqual({ route: '*.apple.test/api', at: 'hosts[1]', matched: false, why: 'serves path /api, which /apis is not under' });
    expect(formatExplanation(wrongPath)).toContain('elsewhere ✗ www.mango.test  (hosts[0])  serves host www.mango.test, not shop.apple.test\n          ✗ *.apple.test/api');
    expect(explain(config, { url: 'http://www.mango.test/' }).other_routes).toEqual([]);
  });

  it('says what admit refuses before any route: TRACE 405, a path that cannot be normalised 400', () => {
    expect(explain(text, { url: 'http://api.mango.test/', method: 'TRACE' }).verdict.status).toBe(405);
    const bad = explain(text, { url: 'http://api.mango.test/%2e%2e/%2e%2e/x' });
    expect(bad.verdict.status).toBe(400);
  });
});

describe('explain: guards', () => {
  const text = (limit: string) => `
health_check: false
paths:
  - path: /
    firewall_rules: { path_reject: [/admin] }
    rate_limit: ${limit}
    servers: [localhost:8081]
`;

  it('gives the firewall rule that refuses', () => {
    const explanation = explain(text('{ requests: 10, per: 1s }'), { url: 'http://x.test/admin/users' });
    expect(explanation.guards).toEqual([{ rule: 'firewall_rules', level: 'paths[0]', passed: false, status: 403, why: 'firewall: path_reject' }]);
    expect(explanation.verdict).toMatchObject({ forwarded: false, status: 403 });
  });

  it('takes no rate-limit token, and says 429 once real requests have spent them', async () => {
    let now = 0;
    const config = loadConfig(text('{ requests: 1, per: 1m }'), 'lb.yaml', { now: () => now });
    // The client the real request below comes from (test/helpers/clientRequest.ts).
    const request = { method: 'GET', url: 'http://x.test/', headers: [], from: '192.0.2.10' };
    for (let i = 0; i < 5; i++) expect(explainRequest(config, request).guards.map((guard) => guard.passed)).toEqual([true, true]);
    // The one token is still there for the real request...
    const { upstream } = namingUpstream();
    const first = await throughBalancer(config, upstream, { target: '/', headers: ['host', 'x.test'] });
    expect(first.answer.status).toBe(200);
    // ...and explain sees the bucket empty afterwards, without emptying it further.
    const after = explainRequest(config, request);
    expect(after.guards[1]).toMatchObject({ rule: 'rate_limit', passed: false, status: 429 });
    expect(after.verdict).toMatchObject({ forwarded: false, status: 429 });
    now += 60_000;
    expect(explainRequest(config, request).guards[1].passed).toBe(true);
  });
});

describe('explain: request rules', () => {
  it('shows the header, query and path before and after each rule, top level first', () => {
    const explanation = explain(
      `
health_check: false
header_rules: { add: { X-Top: "1" } }
paths:
  - path: /
    header_rules: { add: { X-Route: "2" }, remove: { X-Drop: any } }
    param_rules: { add: { added: "yes" } }
    rewrite_rules: { replace: { v1: v2 } }
    upstream_host: backend.internal
    servers: [localhost:8081]
`,
      { url: 'http://x.test/v1/items?q=1', headers: [['X-Drop', 'gone']] },
    );
    expect(explanation.rules).toEqual([
      { rule: 'header_rules', level: 'top level', changes: [{ field: 'header x-top', before: null, after: '1' }] },
      {
        rule: 'header_rules',
        level: 'paths[0]',
        changes: [
          { field: 'header x-drop', before: 'gone', after: null },
          { field: 'header x-route', before: null, after: '2' },
        ],
      },
      { rule: 'param_rules', level: 'paths[0]', changes: [{ field: 'query', before: '?q=1', after: '?q=1&added=yes' }] },
      { rule: 'rewrite_rules', level: 'paths[0]', changes: [{ field: 'path', before: '/v1/items', after: '/v2/items' }] },
      { rule: 'upstream_host', level: 'paths[0]', changes: [{ field: 'header host', before: 'x.test', after: 'backend.internal' }] },
    ]);
    expect(explanation.verdict.why).toBe("forwarded to the route's own pool (GET /v2/items?q=1&added=yes)");
  });
});

describe('explain: gates', () => {
  const text = `
health_check: false
paths:
  - path: /cors
    cors: { origins: ["https://app.example"] }
    servers: [localhost:8081]
  - path: /basic
    basic_auth: { users: { alice: "\${env:ALICE}" } }
    servers: [localhost:8081]
  - path: /forward
    forward_auth: { url: "http://auth.test:9000/verify" }
    servers: [localhost:8081]
  - path: /upload
    max_request_body: 1024
    servers: [localhost:8081]
`;
  const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

  it('answers a CORS preflight at the edge, and refuses one from an origin not allowed', () => {
    const preflight = (origin: string) => explain(text, { url: 'http://x.test/cors', method: 'OPTIONS', headers: [['Origin', origin], ['Access-Control-Request-Method', 'PUT']] });
    expect(preflight('https://app.example').gates[0]).toMatchObject({ gate: 'cors', verdict: 'answers', status: 204 });
    expect(preflight('https://evil.example').verdict).toMatchObject({ forwarded: false, status: 403 });
  });

  it('answers 401 without credentials or for an unknown user, and leaves a known user to the password check', () => {
    expect(explain(text, { url: 'http://x.test/basic' }).verdict).toMatchObject({ status: 401, why: 'basic_auth: no credentials' });
    expect(explain(text, { url: 'http://x.test/basic', headers: [['Authorization', basic('bob', 'x')]] }).verdict.status).toBe(401);
    const alice = explain(text, { url: 'http://x.test/basic', headers: [['Authorization', basic('alice', 'wrong')]] });
    expect(alice.gates[0]).toMatchObject({ gate: 'basic_auth', verdict: 'asks' });
    expect(alice.verdict).toMatchObject({ forwarded: true, provided: ['basic_auth lets it through'] });
  });

  it('says forward_auth would ask its service, and asks nothing', () => {
    const explanation = explain(text, { url: 'http://x.test/forward' });
    expect(explanation.gates[0].verdict).toBe('asks');
    expect(explanation.gates[0].why).toMatch(/^would ask http:\/\/auth\.test:9000\/verify; its answer decides/);
  });

  it('answers 413 on a Content-Length over max_request_body', () => {
    expect(explain(text, { url: 'http://x.test/upload', method: 'POST', headers: [['Content-Length', '2048']] }).verdict).toMatchObject({ status: 413 });
    expect(explain(text, { url: 'http://x.test/upload', method: 'POST', headers: [['Content-Length', '10']] }).verdict.forwarded).toBe(true);
  });
});

describe('explain: targets', () => {
  it('gives a redirect its Location and a respond its status, both answered by the balancer', () => {
    const text = `
paths:
  - path: /old
    redirect: { to: "https://new.test\${path}\${query}", status: 301 }
  - path: /robots.txt
    respond: { status: 200, body: "User-agent: *" }
`;
    const redirect = explain(text, { url: 'http://x.test/old/a?b=1' });
    expect(redirect.target).toEqual({ kind: 'redirect', status: 301, location: 'https://new.test/old/a?b=1' });
    expect(explanationExitCode(redirect)).toBe(1);
    expect(explain(text, { url: 'http://x.test/robots.txt' }).target).toEqual({ kind: 'respond', status: 200 });
  });

  it('shows the backends with weights and health, and moves no position of the weighted rotation', async () => {
    const text = `
algorithm: weighted
paths:
  - path: /
    servers: [localhost:8081, { url: localhost:8082, weight: 3 }, localhost:8083]
`;
    const config = loadConfig(text, 'lb.yaml');
    config.backends[2].health.recordProbe(false, 'refused');
    const request = { method: 'GET', url: 'http://x.test/', headers: [] };
    let explanation = explainRequest(config, request);
    for (let i = 0; i < 7; i++) explanation = explainRequest(config, request);
    expect(explanation.target).toMatchObject({
      kind: 'pool',
      pool: null,
      algorithm: 'weighted',
      backends: [
        { backend: 'localhost:8081', weight: 1, health: 'unknown', pickable: true },
        { backend: 'localhost:8082', weight: 3, health: 'unknown', pickable: true },
        { backend: 'localhost:8083', weight: 1, health: 'down', pickable: false },
      ],
    });
    // The rotation starts where a config nobody explained against starts.
    const fresh = loadConfig(text, 'lb.yaml');
    fresh.backends[2].health.recordProbe(false, 'refused');
    const order = async (compiled: typeof config) => {
      const { upstream, sent } = namingUpstream();
      for (let i = 0; i < 4; i++) await throughBalancer(compiled, upstream, { headers: ['host', 'x.test'] });
      return sent.map((each) => each.origin);
    };
    expect(await order(config)).toEqual(await order(fresh));
  });

  it('answers 503 itself when no backend can be picked', () => {
    const config = loadConfig('paths: [{ path: /, servers: [localhost:8081] }]\n', 'lb.yaml');
    config.backends[0].draining = true;
    const explanation = explainRequest(config, { method: 'GET', url: 'http://x.test/', headers: [] });
    expect(explanation.verdict).toMatchObject({ forwarded: false, status: 503 });
  });

  it('shows a split\'s sides and weights, and draws nothing from its random source', () => {
    let draws = 0;
    const explanation = explain(
      `
health_check: false
pools:
  stable: { servers: [localhost:8081] }
  canary: { servers: [localhost:8082] }
paths:
  - path: /
    split: [{ pool: stable, weight: 95 }, { pool: canary, weight: 5 }]
    sticky: true
`,
      { url: 'http://x.test/' },
      { random: () => (draws++, 0.5) },
    );
    expect(draws).toBe(0);
    expect(explanation.target).toMatchObject({ kind: 'split', sticky_cookie: expect.stringMatching(/^switchyard_split_[0-9a-f]{8}$/), sides: [{ pool: 'stable', weight: 95 }, { pool: 'canary', weight: 5 }] });
    expect(explanation.verdict.why).toBe('forwarded to one side of the split: stable 95%, canary 5% (GET /)');
  });
});

describe('explain: input and text', () => {
  it('refuses a URL, a method, an address or a header field that is not one, saying so', () => {
    const text = 'paths: [{ path: /, servers: [localhost:8081] }]\n';
    expect(() => explain(text, { url: 'www.mango.com/x' })).toThrow(ExplainInputError);
    expect(() => explain(text, { url: 'http:///x' })).toThrow(/has no host/);
    expect(() => explain(text, { url: 'http://x.test/', method: 'GE T' })).toThrow(/not an HTTP method/);
    expect(() => explain(text, { url: 'http://x.test/', from: 'nobody' })).toThrow(/not an IP address/);
    expect(() => parseHeaderField('no colon')).toThrow(/Name: value/);
    expect(parseHeaderField('X-Version:  2 ')).toEqual(['x-version', '2']);
  });

  it('prints one aligned section per step, the verdict last', () => {
    const explanation = explain('health_check: false\nhosts: [{ host: www.mango.test, servers: [localhost:8081] }]\n', { url: 'http://www.mango.test/a' });
    expect(formatExplanation(explanation).split('\n')).toEqual([
      'GET http://www.mango.test/a   from 127.0.0.1',
      'path      /a (normalised)',
      'route     ✓ www.mango.test  (hosts[0])  host and path',
      "pool      the route's own  (random; explain picks none)",
      '            ✓ localhost:8081  weight 1  unknown',
      "verdict   forwarded to the route's own pool (GET /a) (exit 0)",
    ]);
  });
});
