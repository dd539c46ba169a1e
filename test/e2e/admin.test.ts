import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveProcess, serveUntilExit, type ServeExit, type ServeProcess } from '../helpers/serveProcess.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor, within } from '../helpers/waitFor.ts';

// Issue 13, points 2 and 5 (and 7: the same on Deno): the admin listener of `switchyard serve`
// from the build (run `npm run build` first) and of `deno task serve`, on loopback: where it
// listens and when it refuses to, that no routed request ever reaches it, its token, and the admin
// API's drain, undrain, weight and reload as the traffic through the balancer shows them.

/** The TCP ports the processes of a process group listen on (Linux /proc). */
function listeningPorts(processGroup: number): number[] {
  const inodes = new Set<string>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== processGroup) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (socket) inodes.add(socket[1]);
      }
    } catch {
      // A process that ended meanwhile.
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9])) ports.add(parseInt(fields[1].split(':').at(-1)!, 16));
    }
  }
  return [...ports].sort();
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with the Host of our choosing (fetch will not send one), on a fresh connection. */
function send(url: string, method: string, path: string, host: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers: { host }, agent: false, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends `count` GETs to a route, one after the other, and counts who served them. */
async function spread(url: string, host: string, count: number): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const reply = await send(url, 'GET', `/spread-${i}`, host);
    expect(reply.status).toBe(200);
    const name = String(reply.headers['x-served-by']);
    served[name] = (served[name] ?? 0) + 1;
  }
  return served;
}

interface BackendReport {
  backend: string;
  health: string;
  checks: string;
  draining: boolean;
  weight: number | null;
  in_flight: number;
  runtime_changes: string[];
}
interface StatusReport {
  routes: { name: string; backends: { backend: string; weight: number }[] }[];
  backends: BackendReport[];
}

async function status(adminUrl: string, init: RequestInit = {}): Promise<StatusReport> {
  const response = await fetch(`${adminUrl}/api/status`, init);
  expect(response.status).toBe(200);
  return (await response.json()) as StatusReport;
}

const backendIn = (report: StatusReport, name: string) => report.backends.find((backend) => backend.backend === name)!;
const notProbes = (backend: TestBackend) => backend.seen.filter((seen) => seen.url !== '/healthcheck').length;
const probes = (backend: TestBackend) => backend.seen.filter((seen) => seen.url === '/healthcheck').length;
const TOKEN = 'admin-token-0123456789abcdef';

let a: TestBackend;
let b: TestBackend;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestBackend('a'), startTestBackend('b')]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

const routes = () => `
hosts:
  - host: rr.test
    algorithm: round_robin
    servers: [${a.address}, ${b.address}]
  - host: weighted.test
    algorithm: weighted
    servers: [${a.address}, ${b.address}]
  - host: only-a.test
    servers: [${a.address}]
`;
// Probes every 200 ms, so that they are seen to go on while a backend is drained.
const probed = () => `health_check: { interval: 200ms, jitter: 50ms, timeout: 1s }\n${routes()}`;

describe.each(['node', 'deno'] as const)('the admin listener (%s)', (runtime) => {
  let main: ServeProcess;
  let plain: ServeProcess;
  let guarded: ServeProcess;
  let refusals: ServeExit[];

  beforeAll(async () => {
    [main, plain, guarded, ...refusals] = await Promise.all([
      serveProcess(runtime, probed(), { args: ['--admin', '127.0.0.1:0'], admin: true }),
      serveProcess(runtime, `health_check: false\n${routes()}`, { args: ['--access-log', 'off'] }),
      serveProcess(runtime, `health_check: false\nadmin: { address: "127.0.0.1:0", token: "${TOKEN}" }\n${routes()}`, { admin: true }),
      serveUntilExit(runtime, `health_check: false\n${routes()}`, { args: ['--admin', '0.0.0.0:0'] }),
      serveUntilExit(runtime, `health_check: false\nadmin: { address: "0.0.0.0:0" }\n${routes()}`),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([main?.stop(), plain?.stop(), guarded?.stop()]);
  });

  it('prints "admin listening on" on loopback right after the listening line, and serves /metrics, /api/status and /status there', async () => {
    const lines = main.stdout().split('\n');
    expect(lines[0]).toBe(`listening on ${main.url}`);
    expect(lines[1]).toMatch(/^admin listening on http:\/\/127\.0\.0\.1:\d+$/);
    expect(listeningPorts(main.pid)).toEqual([Number(new URL(main.url).port), Number(new URL(main.adminUrl!).port)].sort());

    const metrics = await fetch(`${main.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/^switchyard_config_reloads_total\{result="success"\} 0$/m);

    const report = await status(main.adminUrl!);
    expect(report.backends.map((backend) => backend.backend).sort()).toEqual([a.address, b.address].sort());
    expect(report.routes.map((route) => route.name)).toEqual(['rr.test', 'weighted.test', 'only-a.test']);

    const page = await fetch(`${main.adminUrl}/status`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('is never reached through the routed listener, whatever the Host', async () => {
    const adminHost = new URL(main.adminUrl!).host;
    for (const path of ['/metrics', '/api/status', '/status']) {
      const routed = await send(main.url, 'GET', path, 'rr.test');
      expect(routed.status, path).toBe(200);
      expect(routed.headers['x-served-by'], path).toMatch(/^[ab]$/);
      expect(routed.body, path).not.toMatch(/switchyard_|"backends"/);
      for (const host of ['nowhere.test', adminHost, 'localhost', '127.0.0.1']) {
        const unrouted = await send(main.url, 'GET', path, host);
        expect(unrouted.status, `${path} with Host ${host}`).toBe(404);
        expect(unrouted.body).not.toMatch(/switchyard_|"backends"/);
      }
    }
    const drain = await send(main.url, 'POST', `/api/backends/${a.address}/drain`, 'rr.test');
    expect(drain.headers['x-served-by']).toMatch(/^[ab]$/);
    expect(backendIn(await status(main.adminUrl!), a.address)).toMatchObject({ health: 'up', draining: false });
  });

  it('drains a backend: no new requests, the one in flight finishes, probes go on, and /api/status says so', async () => {
    const slowPath = `/slow/1500?${runtime}`;
    const slow = send(main.url, 'GET', slowPath, 'only-a.test');
    await waitFor(() => a.seen.some((seen) => seen.url === slowPath), 5000, 'the slow request to reach a');
    const before = notProbes(a);

    const drained = await fetch(`${main.adminUrl}/api/backends/${a.address}/drain`, { method: 'POST' });
    expect(drained.status).toBe(200);
    expect(await drained.json()).toMatchObject({ backend: a.address, health: 'draining', draining: true, in_flight: 1, runtime_changes: ['drained'] });
    const probesAtDrain = probes(a);

    expect(await spread(main.url, 'rr.test', 20)).toEqual({ b: 20 });
    expect(notProbes(a)).toBe(before);
    expect(await within(slow, 'the in-flight request to finish')).toMatchObject({ status: 200, body: 'slow\n' });

    await waitFor(() => probes(a) >= probesAtDrain + 2, 5000, 'health probes of the drained backend to go on');
    expect(backendIn(await status(main.adminUrl!), a.address)).toMatchObject({ health: 'draining', checks: 'up', draining: true, runtime_changes: ['drained'] });
  });

  it('undrains it: it gets requests again', async () => {
    const undrained = await fetch(`${main.adminUrl}/api/backends/${a.address}/undrain`, { method: 'POST' });
    expect(undrained.status).toBe(200);
    expect(await undrained.json()).toMatchObject({ health: 'up', draining: false, runtime_changes: [] });
    const served = await spread(main.url, 'rr.test', 20);
    expect(served.a).toBeGreaterThanOrEqual(5);
    expect(backendIn(await status(main.adminUrl!), a.address)).toMatchObject({ health: 'up', runtime_changes: [] });
  });

  it.each([
    ['a number', '5'],
    ['an object', '{"weight": 5}'],
  ])('sets a weight given as %s: the split follows it, /api/status shows it, null gives back the config\'s', async (_, body) => {
    expect(await spread(main.url, 'weighted.test', 60)).toEqual({ a: 30, b: 30 });
    const put = await fetch(`${main.adminUrl}/api/backends/${b.address}/weight`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ backend: b.address, weight: 5, runtime_changes: ['weight'] });
    const served = await spread(main.url, 'weighted.test', 60);
    expect(served.b).toBeGreaterThanOrEqual(40);
    expect(served.a).toBeGreaterThanOrEqual(1);
    const report = await status(main.adminUrl!);
    expect(backendIn(report, b.address)).toMatchObject({ weight: 5, runtime_changes: ['weight'] });
    expect(report.routes.find((route) => route.name === 'weighted.test')!.backends).toContainEqual({ backend: b.address, weight: 5 });

    const reset = await fetch(`${main.adminUrl}/api/backends/${b.address}/weight`, { method: 'PUT', body: 'null' });
    expect(reset.status).toBe(200);
    expect(backendIn(await status(main.adminUrl!), b.address)).toMatchObject({ weight: null, runtime_changes: [] });
  });

  it('refuses a weight that is not one with 400, and an unknown backend with 404 naming the backends', async () => {
    for (const body of ['0', '1001', '2.5', '-1', '"5"', '{"weight":"5"}', '{"weihgt":5}', 'five', '']) {
      const put = await fetch(`${main.adminUrl}/api/backends/${b.address}/weight`, { method: 'PUT', body });
      expect(put.status, `weight ${JSON.stringify(body)}`).toBe(400);
    }
    expect(backendIn(await status(main.adminUrl!), b.address)).toMatchObject({ weight: null });
    for (const [method, path, body] of [
      ['PUT', '/api/backends/127.0.0.1:1/weight', '5'],
      ['POST', '/api/backends/nope.test:80/drain', undefined],
      ['POST', '/api/backends/nope.test:80/undrain', undefined],
    ] as const) {
      const answer = await fetch(`${main.adminUrl}${path}`, { method, body });
      expect(answer.status, path).toBe(404);
      const text = await answer.text();
      expect(text).toContain(a.address);
      expect(text).toContain(b.address);
    }
  });

  it('forgets drains and weights set at run time on a reload (POST /api/reload)', async () => {
    expect((await fetch(`${main.adminUrl}/api/backends/${a.address}/drain`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${main.adminUrl}/api/backends/${b.address}/weight`, { method: 'PUT', body: '7' })).status).toBe(200);
    const reload = await fetch(`${main.adminUrl}/api/reload`, { method: 'POST' });
    expect(reload.status).toBe(200);
    expect(await reload.json()).toMatchObject({ result: 'success', errors: [] });
    const report = await status(main.adminUrl!);
    expect(backendIn(report, a.address)).toMatchObject({ draining: false, runtime_changes: [] });
    expect(backendIn(report, a.address).health).not.toBe('draining');
    expect(backendIn(report, b.address)).toMatchObject({ weight: null, runtime_changes: [] });
    expect(await spread(main.url, 'weighted.test', 20)).toEqual({ a: 10, b: 10 });
  });

  it('starts no admin listener without --admin or admin.address', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(plain.stdout()).toBe(`listening on ${plain.url}\n`);
    expect(listeningPorts(plain.pid)).toEqual([Number(new URL(plain.url).port)]);
  });

  it('refuses to start on an address other than loopback without admin.token, from the flag or the config', () => {
    for (const refused of refusals) {
      expect(refused.code, refused.stderr).not.toBe(0);
      expect(refused.code).not.toBeNull();
      expect(refused.stdout).not.toMatch(/listening on/);
      expect(refused.stderr).toMatch(/0\.0\.0\.0:0/);
      expect(refused.stderr).toMatch(/admin\.token/);
    }
  });

  it('starts from admin.address in the config alone, and asks every request for admin.token', async () => {
    expect(guarded.stdout().split('\n')[1]).toMatch(/^admin listening on http:\/\/127\.0\.0\.1:\d+$/);
    const url = guarded.adminUrl!;
    const none = await fetch(`${url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await fetch(`${url}/api/status`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(`${url}/api/status`, { headers: { authorization: `Basic ${btoa(`ops:wrong-token-0123456789`)}` } })).status).toBe(401);
    expect((await fetch(`${url}/api/backends/${a.address}/drain`, { method: 'POST' })).status).toBe(401);

    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${url}/metrics`, { headers: bearer })).status).toBe(200);
    expect(backendIn(await status(url, { headers: bearer }), a.address)).toMatchObject({ draining: false });
    expect((await fetch(`${url}/status`, { headers: { authorization: `Basic ${btoa(`ops:${TOKEN}`)}` } })).status).toBe(200);
  });
});
