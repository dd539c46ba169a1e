import bcrypt from 'bcryptjs';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import type { RequestRecord } from '../../src/core/observe/RequestRecord.ts';
import { errorsOf } from '../helpers/configErrors.ts';
import type { IdentityHeadersStep } from '../../src/core/config/identityHeaders.ts';

// The edge middleware through the app on the web wire, against backends and an auth service
// simulated by msw (docs/edge-middleware.md).

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const ALICE = bcrypt.hashSync('wonderland', 4);
const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

const config = `
max_request_body: 16
cors: { origins: ["https://app.example", "https://*.trusted.example"], credentials: true, expose_headers: [X-Total], max_age: 10m }
hosts:
  - host: open.test
    servers: [backend.test:80]
  - host: big.test
    max_request_body: false
    cors: false
    servers: [backend.test:80]
  - host: locked.test
    basic_auth: { realm: "Staff only", users: { alice: "${ALICE}" }, user_header: X-User }
    servers: [backend.test:80]
  - host: kept.test
    basic_auth: { users: { alice: "${ALICE}" }, forward_authorization: true }
    servers: [backend.test:80]
  - host: asked.test
    forward_auth: { url: "http://auth.test:9000/verify?app=1", response_headers: [X-Auth-User, X-Auth-Roles], timeout: 200ms }
    servers: [backend.test:80]
  - host: any.test
    cors: { origins: "*" }
    servers: [backend.test:80]
`;
const records: RequestRecord[] = [];
const app = createApp({ config: loadConfig(config), clientAddress: () => '192.0.2.10', log: () => {}, observe: (record) => records.push(record) });
const send = (host: string, path = '/', init: RequestInit = {}) =>
  app.request(`http://lb.test${path}`, { ...init, headers: { host, ...(init.headers as Record<string, string>) } });

let seen: Request | undefined;
const echo = () =>
  server.use(
    http.all('http://backend.test/*', async ({ request }) => {
      seen = request.clone();
      return HttpResponse.text(request.method === 'GET' ? 'hello' : await request.text(), { headers: { 'access-control-allow-origin': '*' } });
    }),
  );

describe('cors', () => {
  it('answers an allowed preflight at the edge with 204 and the allowed values, never forwarding it', async () => {
    const response = await send('open.test', '/api', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, x-token' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type, x-token');
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('vary')).toBe('origin, access-control-request-headers');
  });

  it('refuses a preflight from an origin not allowed with 403 and no Access-Control-Allow-* (the browser then blocks)', async () => {
    records.length = 0;
    const response = await send('open.test', '/api', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(response.status).toBe(403);
    await response.text();
    expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(records[0].refusedBy).toBe('cors');
  });

  it('allows any name under a wildcard origin, not the bare domain nor a lookalike', async () => {
    const preflight = (origin: string) => send('open.test', '/', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    expect((await preflight('https://a.b.trusted.example')).status).toBe(204);
    expect((await preflight('https://trusted.example')).status).toBe(403);
    expect((await preflight('https://eviltrusted.example')).status).toBe(403);
    expect((await preflight('http://a.trusted.example')).status).toBe(403);
  });

  it("puts the origin echoed, credentials and exposed headers on a backend's answer, replacing the backend's own", async () => {
    echo();
    const response = await send('open.test', '/', { headers: { origin: 'https://app.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-expose-headers')).toBe('X-Total');
    expect(response.headers.get('vary')).toBe('origin');
    const stranger = await send('open.test', '/', { headers: { origin: 'https://evil.example' } });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends "*" for origins "*", and a route\'s cors: false turns the top level\'s off', async () => {
    echo();
    expect((await send('any.test', '/', { headers: { origin: 'https://x.example' } })).headers.get('access-control-allow-origin')).toBe('*');
    const off = await send('big.test', '/', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    expect(off.status).toBe(200);
    expect(seen!.method).toBe('OPTIONS');
  });

  it('refuses origins "*" with credentials: true at config check', () => {
    expect(errorsOf('cors: { origins: "*", credentials: true }\npaths: [{ path: /, servers: [a:1] }]\n')).toEqual([
      'lb.yaml:1:36: cors.credentials: credentials: true cannot go with origins: "*" (browsers refuse the pair); list the origins allowed',
    ]);
  });
});

describe('basic_auth', () => {
  it('answers 401 with WWW-Authenticate naming the realm when no credentials come', async () => {
    const response = await send('locked.test');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="Staff only", charset="UTF-8"');
  });

  it('keeps the CORS fields on its 401, so a page can read it', async () => {
    const response = await send('locked.test', '/', { headers: { origin: 'https://app.example' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('lets the right password through, removes Authorization and names the user in user_header, replacing a forged one', async () => {
    echo();
    records.length = 0;
    const response = await send('locked.test', '/', { headers: { authorization: basic('alice', 'wonderland'), 'x-user': 'root' } });
    expect(await response.text()).toBe('hello');
    expect(seen!.headers.get('authorization')).toBeNull();
    expect(seen!.headers.get('x-user')).toBe('alice');
    expect(records[0].refusedBy).toBeUndefined();
  });

  it('keeps Authorization with forward_authorization: true', async () => {
    echo();
    await send('kept.test', '/', { headers: { authorization: basic('alice', 'wonderland') } });
    expect(seen!.headers.get('authorization')).toBe(basic('alice', 'wonderland'));
  });

  it('refuses a wrong password, an unknown user and a malformed or huge header with 401, recorded as basic_auth', async () => {
    records.length = 0;
    for (const authorization of [basic('alice', 'nope'), basic('mallory', 'wonderland'), 'Basic !!!', 'Bearer x', `Basic ${'A'.repeat(8000)}`]) {
      const response = await send('locked.test', '/', { headers: { authorization } });
      expect(response.status).toBe(401);
      await response.text();
    }
    expect(records.map((record) => record.refusedBy)).toEqual(Array(5).fill('basic_auth'));
    expect(records[0].error).toBe('basic_auth: wrong user name or password for "alice"');
    expect(records[4].error).toBe('basic_auth: credentials too long');
  });

  it('refuses a plain password at config check without quoting it', () => {
    const [error] = errorsOf('basic_auth: { users: { bob: hunter2secret } }\npaths: [{ path: /, servers: [a:1] }]\n');
    expect(error).toContain('basic_auth.users.bob: this is not a bcrypt or scrypt hash, and plain passwords are refused');
    expect(error).not.toContain('hunter2secret');
  });
});

describe('identity headers on routes without the gate', () => {
  // The reviewer's case: a guarded GET route, and beside it a route to the same pool without auth.
  const fallbackConfig = (fallback = '') => `
pools:
  app: { servers: [backend.test:80] }
hosts:
  - host: x.test
    path: /admin
    match: { methods: [GET] }
    basic_auth: { users: { alice: "${ALICE}" }, user_header: X-User }
    pool: app
  - host: x.test
    pool: app
${fallback}`;

  it("removes every header a gate of the config names the user in, on every route, so a client cannot forge one toward any backend", async () => {
    echo();
    const forged = { 'x-user': 'alice', 'x-auth-user': 'root', 'x-auth-roles': 'admin', 'x-other': 'kept' };
    // open.test has no gate: X-User is locked.test's user_header, X-Auth-* asked.test's response_headers.
    expect(await (await send('open.test', '/', { headers: forged })).text()).toBe('hello');
    expect([seen!.headers.get('x-user'), seen!.headers.get('x-auth-user'), seen!.headers.get('x-auth-roles')]).toEqual([null, null, null]);
    expect(seen!.headers.get('x-other')).toBe('kept');

    // A request the guarded route's match refuses falls back to the open route: it gets there without the forged name.
    const fallback = createApp({ config: loadConfig(fallbackConfig()), clientAddress: () => '192.0.2.10', log: () => {} });
    const response = await fallback.request('http://lb.test/admin/users/1', { method: 'DELETE', headers: { host: 'x.test', 'x-user': 'alice' } });
    expect(response.status).toBe(200);
    expect(seen!.headers.get('x-user')).toBeNull();
  });

  it('removes them only where they could reach a backend a gate guards, and leaves a checked, forwarded Authorization', () => {
    const { routesInOrder } = loadConfig(`
hosts:
  - host: sso.test
    forward_auth: { url: "http://auth.test/", response_headers: [Authorization, X-User] }
    servers: [a.test:80]
  - host: open-a.test
    servers: [a.test:80]
  - host: kept.test
    basic_auth: { users: { alice: "${ALICE}" }, forward_authorization: true }
    servers: [a.test:80]
  - host: api.test
    servers: [b.test:80]
`);
    const removed = (host: string) => (routesInOrder.find((route) => route.host === host)!.requestRewrites[0] as IdentityHeadersStep).names.sort();
    expect(removed('sso.test')).toEqual(['authorization', 'x-user']);
    expect(removed('open-a.test')).toEqual(['authorization', 'x-user']);
    // Its own basic_auth checks the client's Authorization and forwards it.
    expect(removed('kept.test')).toEqual(['x-user']);
    // Other backends: an API's bearer tokens reach it.
    expect(removed('api.test')).toEqual([]);
  });

  it('lets a route\'s own header_rules set an identity header: the config is not the client', async () => {
    echo();
    const app = createApp({ config: loadConfig(`${config}    header_rules: { set: { X-User: service } }\n`), clientAddress: () => '192.0.2.10', log: () => {} });
    await app.request('http://lb.test/', { headers: { host: 'any.test', 'x-user': 'alice' } });
    expect(seen!.headers.get('x-user')).toBe('service');
  });

  it('warns, naming match, when a request the guarded route refuses could fall back to an unguarded route on the same pool', () => {
    const warnings = loadConfig(fallbackConfig()).warnings;
    expect(warnings.map((warning) => `${warning.path}: ${warning.message}`)).toEqual([
      'hosts[0].match: a request this route\'s match refuses goes on to hosts[1] (x.test, pool "app"), which has no basic_auth or forward_auth and sends to the same backends: its basic_auth does not guard those requests; guard that route too, or send it elsewhere (docs/edge-middleware.md)',
    ]);
    // Not when the fallback is guarded too, nor when it sends elsewhere.
    const guarded = fallbackConfig(`    basic_auth: { users: { bob: "${ALICE}" } }`);
    expect(loadConfig(guarded).warnings).toEqual([]);
    expect(loadConfig(fallbackConfig().replace(/pool: app\n$/, 'servers: [other.test:80]\n')).warnings).toEqual([]);
  });

  it('finds the fallbacks the route table would take: a wildcard host and a path-only route on the same backend', () => {
    const { warnings } = loadConfig(`
hosts:
  - host: x.test
    path: /admin
    match: { methods: [GET] }
    basic_auth: { users: { alice: "${ALICE}" } }
    servers: [backend.test:80]
  - host: '*.test'
    servers: [backend.test:80]
  - host: other.test
    servers: [backend.test:80]
paths:
  - path: /
    servers: [backend.test:80]
`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].path).toBe('hosts[0].match');
    expect(warnings[0].message).toMatch(/^a request this route's match refuses goes on to hosts\[1\] \(\*\.test\), paths\[0\] \(\/\), which has no basic_auth/);
  });
});

describe('hsts on refusals', () => {
  it("gives each route its hsts rewrite apart, for the answers that get no other response rule (firewall, rate limit, gates)", () => {
    const route = loadConfig(`hsts: max-age=63072000\n${config}`).routesInOrder.find((candidate) => candidate.name === 'locked.test')!;
    const headers = new Headers();
    route.hsts!({ scheme: 'https' } as never, headers as never);
    expect(headers.get('strict-transport-security')).toBe('max-age=63072000');
  });
});

describe('forward_auth', () => {
  it("asks the auth service with the client's headers and X-Forwarded-*, and copies the listed answer headers, replacing forged ones", async () => {
    echo();
    let asked: Request | undefined;
    server.use(http.get('http://auth.test:9000/verify', ({ request }) => ((asked = request), new HttpResponse(null, { status: 204, headers: { 'x-auth-user': 'alice', 'x-other': 'no' } }))));
    const response = await send('asked.test', '/orders/./7?full=1', { headers: { cookie: 'session=s1', 'x-auth-user': 'root', 'x-auth-roles': 'admin', 'x-forwarded-method': 'FORGED' } });
    expect(response.status).toBe(200);
    expect(new URL(asked!.url).search).toBe('?app=1');
    expect(asked!.headers.get('cookie')).toBe('session=s1');
    expect(asked!.headers.get('x-forwarded-method')).toBe('GET');
    expect(asked!.headers.get('x-forwarded-uri')).toBe('/orders/7?full=1');
    expect(asked!.headers.get('x-forwarded-host')).toBe('asked.test');
    expect(asked!.headers.get('x-forwarded-proto')).toBe('http');
    expect(asked!.headers.get('x-forwarded-for')).toBe('192.0.2.10');
    expect(seen!.headers.get('x-auth-user')).toBe('alice');
    expect(seen!.headers.get('x-auth-roles')).toBeNull();
    expect(seen!.headers.get('x-other')).toBeNull();
  });

  it("returns the auth service's refusal to the client: status, headers and body", async () => {
    server.use(http.get('http://auth.test:9000/verify', () => HttpResponse.text('log in first', { status: 302, headers: { location: 'https://login.test/' } })));
    records.length = 0;
    const response = await send('asked.test', '/');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://login.test/');
    expect(await response.text()).toBe('log in first');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(records[0].refusedBy).toBe('forward_auth');
    expect(records[0].error).toBe('forward_auth: the auth service answered 302');
  });

  it('answers 503 when the auth service cannot be reached and 504 when it is late', async () => {
    server.use(http.get('http://auth.test:9000/verify', () => HttpResponse.error()));
    expect((await send('asked.test', '/')).status).toBe(503);
    server.use(http.get('http://auth.test:9000/verify', () => new Promise(() => {})));
    expect((await send('asked.test', '/')).status).toBe(504);
  });
});

describe('max_request_body', () => {
  it('answers 413 with Connection: close at once for a Content-Length over the limit, never forwarding it', async () => {
    records.length = 0;
    const response = await send('open.test', '/', { method: 'POST', body: 'x'.repeat(17), headers: { 'content-length': '17' } });
    expect(response.status).toBe(413);
    expect(response.headers.get('connection')).toBe('close');
    await response.text();
    expect(records[0].refusedBy).toBe('max_request_body');
    expect(records[0].attempts).toEqual([]);
  });

  it('forwards a body within the limit, and any body where the route says false', async () => {
    echo();
    expect(await (await send('open.test', '/', { method: 'POST', body: 'x'.repeat(16) })).text()).toBe('x'.repeat(16));
    expect(await (await send('big.test', '/', { method: 'POST', body: 'x'.repeat(100) })).text()).toBe('x'.repeat(100));
  });
});
