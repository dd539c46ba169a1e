import { parseAdminAddress } from '../../src/admin/startAdmin.ts';
import { describe, expect, it } from 'vitest';
import { adminApp } from '../../src/admin/adminApp.ts';
import { BackendTraffic } from '../../src/admin/BackendTraffic.ts';
import { Metrics } from '../../src/admin/metrics.ts';
import type { StatusSource } from '../../src/admin/statusReport.ts';
import { loadConfig, type LoadedConfig } from '../../src/core/config/loadConfig.ts';
import { RequestRecord } from '../../src/core/observe/RequestRecord.ts';
import type { ReloadReport } from '../../src/server/LiveConfig.ts';
import { manualClock } from '../helpers/manualClock.ts';

const TOKEN = 'sixteen-chars-or-more';

const TEXT = `
health_check: false
algorithm: weighted
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:8081, { url: "http://127.0.0.1:8081/base", weight: 2 }]
paths:
  - path: /apples
    servers: [127.0.0.1:8081, 127.0.0.1:8083]
`;

const LOADED_AT = Date.parse('2026-11-30T07:40:00.000Z');

/** An admin app over a config the test may swap, as a reload does; `reload` does what the test says. */
function setup(options: { token?: string; text?: string; loopbackOnly?: boolean; reload?: (state: State) => ReloadReport | undefined } = {}) {
  const clock = manualClock(0);
  const state: State = {
    config: loadConfig(options.text ?? TEXT, 'lb.yaml'),
    token: options.token,
    loadedAt: LOADED_AT,
    reloads: { success: 0, failure: 0 },
    lastReload: undefined,
  };
  const live: StatusSource = {
    get config() {
      return state.config;
    },
    source: '/etc/switchyard/lb.yaml',
    get loadedAt() {
      return state.loadedAt;
    },
    get reloads() {
      return state.reloads;
    },
    get lastReload() {
      return state.lastReload;
    },
  };
  const metrics = new Metrics(() => state.config);
  metrics.watch(state.config, LOADED_AT);
  const traffic = new BackendTraffic(clock.now);
  let reloads = 0;
  const app = adminApp({
    live,
    loopbackOnly: options.loopbackOnly,
    token: () => state.token,
    metrics,
    traffic: () => traffic,
    reload: async () => {
      reloads++;
      return (options.reload ?? (() => undefined))(state);
    },
  });
  const backend = (name: string) => state.config.backends.find((each) => each.name === name)!;
  return { app, state, metrics, traffic, backend, reloads: () => reloads };
}

interface State {
  config: LoadedConfig;
  token: string | undefined;
  loadedAt: number;
  reloads: { success: number; failure: number };
  lastReload: ReloadReport | undefined;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({ authorization: `Basic ${btoa(`${user}:${password}`)}` });

describe('adminApp: the token', () => {
  it('is open without a token', async () => {
    const { app } = setup();
    expect((await app.request('/api/status')).status).toBe(200);
    expect((await app.request('/metrics')).status).toBe(200);
  });

  it('answers 401 without the token, asking for basic auth, and shows nothing', async () => {
    const { app } = setup({ token: TOKEN });
    for (const path of ['/api/status', '/metrics', '/status', '/']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="switchyard admin"/);
      expect(await response.json()).toEqual({ error: expect.stringContaining('Authorization: Bearer TOKEN') });
    }
  });

  it('refuses a change without the token: the backend stays as it was', async () => {
    const { app, backend } = setup({ token: TOKEN });
    expect((await app.request('/api/backends/127.0.0.1:8083/drain', { method: 'POST' })).status).toBe(401);
    expect(backend('127.0.0.1:8083').draining).toBe(false);
  });

  it('lets a request with the token as a bearer token through', async () => {
    const { app } = setup({ token: TOKEN });
    expect((await app.request('/api/status', { headers: bearer(TOKEN) })).status).toBe(200);
    expect((await app.request('/api/status', { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('lets a request with the token as the basic auth password through, whatever the user name', async () => {
    const { app } = setup({ token: TOKEN });
    for (const user of ['admin', 'anyone', '']) expect((await app.request('/api/status', { headers: basic(user, TOKEN) })).status, user).toBe(200);
  });

  it('answers 401 to a wrong token, as bearer or basic, and to the token given as the basic user name', async () => {
    const { app } = setup({ token: TOKEN });
    const wrong = [bearer('not-the-token-at-all'), bearer(`${TOKEN}x`), bearer(''), basic('admin', 'not-the-token'), basic(TOKEN, ''), { authorization: 'Basic !!!not-base64' }, { authorization: TOKEN }, { authorization: `Token ${TOKEN}` }];
    for (const headers of wrong) expect((await app.request('/api/status', { headers })).status, headers.authorization).toBe(401);
  });

  it('takes a token changed by a reload at once', async () => {
    const { app, state } = setup({ token: TOKEN });
    state.token = 'another-token-of-16-chars';
    expect((await app.request('/api/status', { headers: bearer(TOKEN) })).status).toBe(401);
    expect((await app.request('/api/status', { headers: bearer('another-token-of-16-chars') })).status).toBe(200);
  });
});

describe('adminApp: pages', () => {
  it('redirects / to status, relative, so it works under a prefix', async () => {
    const { app } = setup();
    const response = await app.request('/');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('status');
  });

  it('serves the status page as HTML', async () => {
    const { app } = setup();
    const response = await app.request('/status');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('serves the metrics in the Prometheus text format', async () => {
    const { app } = setup();
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('switchyard_requests_total{route="www.mango.com",code="2xx"} 0');
  });

  it('answers an unknown endpoint with 404 as JSON', async () => {
    const { app } = setup();
    for (const [method, path] of [
      ['GET', '/api/nothing'],
      ['GET', '/api/backends/127.0.0.1:8081/drain'],
      ['DELETE', '/api/reload'],
    ]) {
      const response = await app.request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ error: `no admin endpoint ${method} ${path}; see docs/operations.md` });
    }
  });

  it('asks that nothing it answers be cached', async () => {
    const { app } = setup();
    expect((await app.request('/api/status')).headers.get('cache-control')).toBe('no-store');
  });
});

describe('adminApp: GET /api/status', () => {
  it('reports the config, each route with its pool, and each backend', async () => {
    const { app, traffic, backend } = setup();
    const record = new RequestRecord();
    record.attempts.push({ backend: backend('127.0.0.1:8083'), status: 200 }, { backend: backend('127.0.0.1:8083'), status: 502 });
    traffic.observe(record);
    const status = await (await app.request('/api/status')).json();
    expect(status.config).toEqual({ source: '/etc/switchyard/lb.yaml', loaded_at: '2026-11-30T07:40:00.000Z', reloads: { success: 0, failure: 0 }, last_reload: null });
    expect(status.routes).toEqual([
      {
        name: 'www.mango.com',
        host: 'www.mango.com',
        path: '/',
        algorithm: 'weighted',
        pool: null,
        split: null,
        backends: [
          { backend: '127.0.0.1:8081', weight: 1 },
          { backend: '127.0.0.1:8081/base', weight: 2 },
        ],
      },
      {
        name: '/apples',
        host: null,
        path: '/apples',
        algorithm: 'weighted',
        pool: null,
        split: null,
        backends: [
          { backend: '127.0.0.1:8081', weight: 1 },
          { backend: '127.0.0.1:8083', weight: 1 },
        ],
      },
    ]);
    expect(status.pools).toEqual([]);
    expect(status.backends.map((each: { backend: string }) => each.backend)).toEqual(['127.0.0.1:8081', '127.0.0.1:8081/base', '127.0.0.1:8083']);
    expect(status.backends[0]).toEqual({
      backend: '127.0.0.1:8081',
      url: 'http://127.0.0.1:8081',
      health: 'up',
      checks: 'off',
      ejected: false,
      draining: false,
      weight: null,
      in_flight: 0,
      requests_per_second: 0,
      error_rate: 0,
      requests_last_minute: 0,
      errors_last_minute: 0,
      runtime_changes: [],
      routes: ['www.mango.com', '/apples'],
    });
    expect(status.backends[2]).toMatchObject({ requests_last_minute: 2, errors_last_minute: 1, error_rate: 0.5, routes: ['/apples'] });
  });

  it('reports the last reload and its errors', async () => {
    const { app, state } = setup();
    state.reloads = { success: 3, failure: 1 };
    state.lastReload = { at: Date.parse('2026-11-30T08:00:00.000Z'), result: 'failure', errors: ['lb.yaml:5:16: hosts[0].algorithm: "nope" is not an algorithm'] };
    const status = await (await app.request('/api/status')).json();
    expect(status.config.reloads).toEqual({ success: 3, failure: 1 });
    expect(status.config.last_reload).toEqual({ at: '2026-11-30T08:00:00.000Z', result: 'failure', errors: ['lb.yaml:5:16: hosts[0].algorithm: "nope" is not an algorithm'] });
  });
});

describe('adminApp: drain and undrain', () => {
  it('drains a backend of the config in use and answers its status', async () => {
    const { app, state, backend } = setup();
    const response = await app.request('/api/backends/127.0.0.1:8083/drain', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ backend: '127.0.0.1:8083', health: 'draining', draining: true, runtime_changes: ['drained'], routes: ['/apples'] });
    expect(backend('127.0.0.1:8083').draining).toBe(true);
    // No new request goes to it.
    const pool = state.config.routesInOrder[1].pools[0];
    for (let i = 0; i < 20; i++) expect(pool.pick({ clientAddress: undefined, headers: new Headers() })?.name).toBe('127.0.0.1:8081');
  });

  it('undrains it', async () => {
    const { app, backend } = setup();
    await app.request('/api/backends/127.0.0.1:8083/drain', { method: 'POST' });
    const response = await app.request('/api/backends/127.0.0.1:8083/undrain', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ backend: '127.0.0.1:8083', health: 'up', draining: false, runtime_changes: [] });
    expect(backend('127.0.0.1:8083').draining).toBe(false);
  });

  it('changes the Backend of the config in use after a reload, not the one before', async () => {
    const { app, state } = setup();
    const before = state.config;
    state.config = loadConfig(TEXT, 'lb.yaml');
    await app.request('/api/backends/127.0.0.1:8083/drain', { method: 'POST' });
    expect(state.config.backends.find((each) => each.name === '127.0.0.1:8083')!.draining).toBe(true);
    expect(before.backends.find((each) => each.name === '127.0.0.1:8083')!.draining).toBe(false);
  });

  it('addresses a backend with a base path by its name, apart from the one without', async () => {
    const { app, backend } = setup();
    const response = await app.request('/api/backends/127.0.0.1:8081/base/drain', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ backend: '127.0.0.1:8081/base', url: 'http://127.0.0.1:8081/base', draining: true, routes: ['www.mango.com'] });
    expect(backend('127.0.0.1:8081/base').draining).toBe(true);
    expect(backend('127.0.0.1:8081').draining).toBe(false);
  });

  it('answers 404 for an unknown backend, listing the names there are, and changes nothing', async () => {
    const { app, state } = setup();
    const response = await app.request('/api/backends/127.0.0.1:9999/drain', { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'no backend "127.0.0.1:9999"; the backends are 127.0.0.1:8081, 127.0.0.1:8081/base, 127.0.0.1:8083' });
    expect(state.config.backends.some((each) => each.draining)).toBe(false);
  });

  it('shows a drain in /api/status as a change made at run time', async () => {
    const { app } = setup();
    await app.request('/api/backends/127.0.0.1:8081/drain', { method: 'POST' });
    const status = await (await app.request('/api/status')).json();
    expect(status.backends[0]).toMatchObject({ backend: '127.0.0.1:8081', health: 'draining', runtime_changes: ['drained'] });
  });
});

describe('adminApp: PUT weight', () => {
  it.each([
    ['a number', '5'],
    ['an object', '{"weight":5}'],
    ['an object with spaces', ' { "weight": 5 } '],
  ])('sets the weight from %s in every pool the backend is in, and answers its status', async (_, body) => {
    const { app, state, backend } = setup();
    const response = await app.request('/api/backends/127.0.0.1:8081/weight', { method: 'PUT', body });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ backend: '127.0.0.1:8081', weight: 5, runtime_changes: ['weight'], routes: ['www.mango.com', '/apples'] });
    expect(backend('127.0.0.1:8081').weight).toBe(5);
    for (const route of state.config.routesInOrder) expect(route.pools[0].members.find((member) => member.backend === backend('127.0.0.1:8081'))!.weight, route.name).toBe(5);
  });

  it('changes the split at once', async () => {
    const { app, state } = setup();
    await app.request('/api/backends/127.0.0.1:8083/weight', { method: 'PUT', body: '3' });
    const pool = state.config.routesInOrder[1].pools[0];
    const tally = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const name = pool.pick({ clientAddress: undefined, headers: new Headers() })!.name;
      tally.set(name, (tally.get(name) ?? 0) + 1);
    }
    expect(Object.fromEntries(tally)).toEqual({ '127.0.0.1:8081': 100, '127.0.0.1:8083': 300 });
  });

  it('goes back to the config weight with null', async () => {
    const { app, state, backend } = setup();
    await app.request('/api/backends/127.0.0.1:8081/base/weight', { method: 'PUT', body: '7' });
    expect(state.config.routesInOrder[0].pools[0].members[1].weight).toBe(7);
    for (const body of ['null', '{"weight":null}']) {
      await app.request('/api/backends/127.0.0.1:8081/base/weight', { method: 'PUT', body: '7' });
      const response = await app.request('/api/backends/127.0.0.1:8081/base/weight', { method: 'PUT', body });
      expect(response.status, body).toBe(200);
      expect(await response.json()).toMatchObject({ backend: '127.0.0.1:8081/base', weight: null, runtime_changes: [] });
      expect(backend('127.0.0.1:8081/base').weight).toBeUndefined();
      expect(state.config.routesInOrder[0].pools[0].members[1].weight).toBe(2);
    }
  });

  it('shows the weight in effect per route in /api/status, and the run-time one per backend', async () => {
    const { app } = setup();
    await app.request('/api/backends/127.0.0.1:8083/weight', { method: 'PUT', body: '{"weight": 9}' });
    const status = await (await app.request('/api/status')).json();
    expect(status.routes[1].backends).toEqual([
      { backend: '127.0.0.1:8081', weight: 1 },
      { backend: '127.0.0.1:8083', weight: 9 },
    ]);
    expect(status.backends[2]).toMatchObject({ backend: '127.0.0.1:8083', weight: 9, runtime_changes: ['weight'] });
  });

  it.each([['0'], ['1001'], ['2.5'], ['-1'], ['"x"'], ['"5"'], ['x'], [''], ['{}'], ['{"weight":0}'], ['{"weight":"5"}'], ['[5]'], ['true']])('answers 400 to the body %j and changes nothing', async (body) => {
    const { app, state, backend } = setup();
    const response = await app.request('/api/backends/127.0.0.1:8081/weight', { method: 'PUT', body });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'the body is a weight from 1 to 1000 (as 5 or {"weight": 5}), or null for the config\'s' });
    expect(backend('127.0.0.1:8081').weight).toBeUndefined();
    expect(state.config.routesInOrder[0].pools[0].members[0].weight).toBe(1);
  });

  it('takes the bounds 1 and 1000', async () => {
    const { app, backend } = setup();
    expect((await app.request('/api/backends/127.0.0.1:8081/weight', { method: 'PUT', body: '1' })).status).toBe(200);
    expect(backend('127.0.0.1:8081').weight).toBe(1);
    expect((await app.request('/api/backends/127.0.0.1:8081/weight', { method: 'PUT', body: '1000' })).status).toBe(200);
    expect(backend('127.0.0.1:8081').weight).toBe(1000);
  });

  it('answers 404 for the weight of an unknown backend', async () => {
    const { app } = setup();
    const response = await app.request('/api/backends/nowhere:1/weight', { method: 'PUT', body: '5' });
    expect(response.status).toBe(404);
    expect((await response.json()).error).toContain('the backends are 127.0.0.1:8081, 127.0.0.1:8081/base, 127.0.0.1:8083');
  });
});

describe('adminApp: POST /api/reload', () => {
  it('answers 200 with the result and the new load time after a successful reload', async () => {
    const { app, reloads } = setup({
      reload: (state) => {
        state.loadedAt = Date.parse('2026-11-30T09:00:00.000Z');
        return { at: state.loadedAt, result: 'success', errors: [] };
      },
    });
    const response = await app.request('/api/reload', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ result: 'success', errors: [], loaded_at: '2026-11-30T09:00:00.000Z' });
    expect(reloads()).toBe(1);
  });

  it('answers 422 with the errors after a failed reload', async () => {
    const errors = ['lb.yaml:5:16: hosts[0].algorithm: "nope" is not an algorithm', 'lb.yaml:6:15: hosts[0].servers[0]: "localhost:80x0" is not a valid port'];
    const { app } = setup({ reload: () => ({ at: Date.now(), result: 'failure', errors }) });
    const response = await app.request('/api/reload', { method: 'POST' });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ result: 'failure', errors, loaded_at: '2026-11-30T07:40:00.000Z' });
  });

  it('answers 200 unchanged when the reload had nothing to do', async () => {
    const { app } = setup({ reload: () => undefined });
    const response = await app.request('/api/reload', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ result: 'unchanged', errors: [] });
  });

  it('does not reload on GET', async () => {
    const { app, reloads } = setup();
    expect((await app.request('/api/reload')).status).toBe(404);
    expect(reloads()).toBe(0);
  });
});

describe('adminApp: requests a web page could send', () => {
  it('answers only loopback names on a loopback listener (DNS rebinding)', async () => {
    const { app } = setup({ loopbackOnly: true });
    for (const host of ['127.0.0.1:9901', 'localhost:9901', '[::1]:9901', '127.0.0.2', 'LOCALHOST']) {
      expect((await app.request('/api/status', { headers: { host } })).status, host).toBe(200);
    }
    for (const host of ['rebind.evil.example:9901', '127.0.0.1.evil.example', '', 'localhost.example']) {
      expect((await app.request('/api/status', { headers: { host } })).status, host).toBe(403);
    }
  });

  it('refuses a change sent from another origin (a cross-site form post), and takes its own status page\'s', async () => {
    const { app, backend } = setup({ loopbackOnly: true });
    const post = (origin?: string) => app.request('/api/backends/127.0.0.1:8083/drain', { method: 'POST', headers: { host: '127.0.0.1:9901', ...(origin && { origin }) } });
    expect((await post('http://evil.example')).status).toBe(403);
    expect((await post('null')).status).toBe(403);
    expect(backend('127.0.0.1:8083').draining).toBe(false);
    expect((await post('http://127.0.0.1:9901')).status).toBe(200);
    expect((await post()).status).toBe(200);
    expect(backend('127.0.0.1:8083').draining).toBe(true);
  });
});

describe('parseAdminAddress', () => {
  it('reads a port alone as 127.0.0.1, HOST:PORT and [IPV6]:PORT as written, and refuses the rest', () => {
    expect(parseAdminAddress('9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseAdminAddress(':19093')).toEqual({ host: '127.0.0.1', port: 19093 });
    expect(parseAdminAddress('0.0.0.0:9090')).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(parseAdminAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(parseAdminAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['', 'a:b', '9090:', '::1:9090', '127.0.0.1:99999', '123456']) expect(parseAdminAddress(bad), bad).toBeUndefined();
  });
});
