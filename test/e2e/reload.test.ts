import { execFile } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadPort } from '../helpers/deadPort.ts';
import { serveProcess, type ServeProcess } from '../helpers/serveProcess.ts';
import { CLI, PROJECT_ROOT } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor, within } from '../helpers/waitFor.ts';

// Issue 13, point 6 (and 7: the same on Deno): hot reload of `switchyard serve` from the build
// (run `npm run build` first) and of `deno task serve`, over loopback: on SIGHUP, on
// POST /api/reload and with --watch; an invalid file changes nothing and says why as `check` does;
// health carries over for kept backends and new ones are probed before they get traffic; a request
// in flight finishes on the config it started with.

interface Reply {
  readonly status: number;
  readonly servedBy: string | undefined;
  readonly body: string;
}

/** A GET with the Host of our choosing (fetch will not send one), on a fresh connection. */
function get(url: string, path: string, host: string, requestId?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host, ...(requestId ? { 'x-request-id': requestId } : {}) };
    const req = request(`${url}${path}`, { headers, agent: false, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, servedBy: response.headers['x-served-by'] as string | undefined, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** What `switchyard check` prints on stderr for a file, one line per error. */
function checkErrors(file: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'check', '--config', file], { cwd: PROJECT_ROOT }, (error, _stdout, stderr) => {
      expect(error?.code).toBe(1);
      resolve(stderr.trim().split('\n'));
    });
  });
}

/** A backend whose health check fails until told otherwise; it counts the other requests it gets. */
interface SickBackend {
  readonly address: string;
  healthy: boolean;
  probes: number;
  readonly requests: string[];
  close(): Promise<void>;
}

/** @param probeDelayMs how long each health check takes to fail (or pass) */
async function startSickBackend(probeDelayMs = 0): Promise<SickBackend> {
  const sick = { healthy: false, probes: 0, requests: [] as string[] };
  const server: Server = createServer((req, res) => {
    if (req.url === '/healthcheck') {
      sick.probes++;
      const answer = setTimeout(() => res.writeHead(sick.healthy ? 200 : 503).end(), probeDelayMs);
      return void res.on('close', () => clearTimeout(answer));
    }
    sick.requests.push(req.url ?? '');
    res.writeHead(200, { 'x-served-by': 'sick' }).end('sick\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(sick, {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  });
}

/** How many reloads the error log has reported so far, of one result. */
const reloadsLogged = (served: ServeProcess, result: 'success' | 'failure') => served.stderr().split(result === 'success' ? 'config reloaded' : 'failed: the config in use is kept').length - 1;

interface StatusReport {
  config: { reloads: { success: number; failure: number }; last_reload: { result: string; errors: string[] } | null };
  backends: { backend: string; health: string; checks: string }[];
}

async function status(served: ServeProcess): Promise<StatusReport> {
  const response = await fetch(`${served.adminUrl}/api/status`);
  expect(response.status).toBe(200);
  return (await response.json()) as StatusReport;
}

async function metrics(served: ServeProcess): Promise<string> {
  const response = await fetch(`${served.adminUrl}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

let a: TestBackend;
let b: TestBackend;
let sick: SickBackend;
let sickAdded: SickBackend;
let deadAdded: number;

beforeAll(async () => {
  [a, b, sick, sickAdded, deadAdded] = await Promise.all([startTestBackend('a'), startTestBackend('b'), startSickBackend(), startSickBackend(700), deadPort()]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), sick?.close(), sickAdded?.close()]);
});

// One probe decides a backend's first state; after that, three passed probes bring a down backend
// back, and the next probe is 30 s away: what a reload finds is what the balancer already knew.
const HEALTH = 'health_check: { interval: 30s, jitter: 1ms, timeout: 1s, healthy_threshold: 3, unhealthy_threshold: 1 }';
const config = (...hosts: string[]) => `${HEALTH}\nhosts:\n${hosts.map((host) => `  - ${host}\n`).join('')}`;
const route = (host: string, servers: string[], more = '') => `{ host: ${host}, servers: [${servers.join(', ')}]${more} }`;

describe.each(['node', 'deno'] as const)('hot reload on SIGHUP and POST /api/reload (%s)', (runtime) => {
  let served: ServeProcess;
  const mixed = () => route('mixed.test', [sick.address, b.address], ', algorithm: round_robin');

  beforeAll(async () => {
    sick.healthy = false;
    served = await serveProcess(runtime, config(route('old.test', [a.address]), route('kept.test', [a.address]), mixed()), { args: ['--admin', '127.0.0.1:0'], admin: true });
  }, 40_000);
  afterAll(async () => void (await served?.stop()));

  /** Writes the config file, sends SIGHUP and waits for the reload's log line. */
  async function reloadWith(text: string, result: 'success' | 'failure' = 'success'): Promise<void> {
    const before = reloadsLogged(served, result);
    await writeFile(served.file, text);
    served.hangUp();
    await waitFor(() => reloadsLogged(served, result) > before, 5000, `a ${result} reload in:\n${served.stderr()}`);
  }

  it('serves the new routes after SIGHUP with a changed file, says "config reloaded", counts it, and keeps running', async () => {
    expect((await get(served.url, '/x', 'old.test')).status).toBe(200);
    expect((await get(served.url, '/x', 'new.test')).status).toBe(404);
    await reloadWith(config(route('new.test', [b.address]), route('kept.test', [a.address]), mixed()));
    expect(served.running()).toBe(true);
    expect(await get(served.url, '/x', 'new.test')).toMatchObject({ status: 200, servedBy: 'b' });
    expect((await get(served.url, '/x', 'old.test')).status).toBe(404);
    expect(await get(served.url, '/x', 'kept.test')).toMatchObject({ status: 200, servedBy: 'a' });
    const report = await status(served);
    expect(report.config.reloads).toEqual({ success: 1, failure: 0 });
    expect(report.config.last_reload).toMatchObject({ result: 'success', errors: [] });
    expect(await metrics(served)).toMatch(/^switchyard_config_reloads_total\{result="success"\} 1$/m);
  });

  it('finishes a request in flight during a reload on the config it started with', async () => {
    const slowPath = `/slow/1500?${runtime}`;
    const slow = get(served.url, slowPath, 'kept.test');
    await waitFor(() => a.seen.some((seen) => seen.url === slowPath), 5000, 'the slow request to reach a');
    // kept.test, and its only backend, are gone from the new config.
    await reloadWith(config(route('new.test', [b.address]), mixed()));
    expect((await get(served.url, '/x', 'kept.test')).status).toBe(404);
    expect(await within(slow, 'the in-flight request to finish')).toMatchObject({ status: 200, servedBy: 'a', body: 'slow\n' });
  });

  it('keeps the config in use when the new file is invalid, logs every error as check prints it, and counts the failure', async () => {
    const invalid = `${HEALTH}\nhosts:\n  - host: new.test\n    servers: [127.0.0.1:80x0]\n  - host: mixed.test\n    algoritm: round_robin\n    servers: [${sick.address}, ${b.address}]\n`;
    // The same errors as `check` gives for that text in that place.
    await writeFile(served.file, invalid);
    const expected = await checkErrors(served.file);
    expect(expected).toHaveLength(2);
    for (const line of expected) expect(line).toMatch(new RegExp(`^${served.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));

    await reloadWith(invalid, 'failure');
    for (const line of expected) expect(served.stderr()).toContain(`${line}\n`);
    expect(await get(served.url, '/x', 'new.test')).toMatchObject({ status: 200, servedBy: 'b' });
    let report = await status(served);
    expect(report.config.reloads).toEqual({ success: 2, failure: 1 });
    expect(report.config.last_reload).toMatchObject({ result: 'failure', errors: expected });
    expect(await metrics(served)).toMatch(/^switchyard_config_reloads_total\{result="failure"\} 1$/m);

    const api = await fetch(`${served.adminUrl}/api/reload`, { method: 'POST' });
    expect(api.status).toBe(422);
    expect(await api.json()).toMatchObject({ result: 'failure', errors: expected });
    report = await status(served);
    expect(report.config.reloads).toEqual({ success: 2, failure: 2 });
    expect(await metrics(served)).toMatch(/^switchyard_config_reloads_total\{result="failure"\} 2$/m);
    expect(await get(served.url, '/x', 'new.test')).toMatchObject({ status: 200, servedBy: 'b' });
  });

  it('keeps a backend known to be down down across a reload that keeps it: no request reaches it', async () => {
    // Down since its first probe; it would pass a probe now, but the balancer has not seen it pass.
    expect(sick.probes).toBeGreaterThanOrEqual(1);
    expect(sick.requests).toEqual([]);
    sick.healthy = true;
    await reloadWith(config(route('new.test', [b.address]), mixed(), route('other.test', [b.address])));
    for (let i = 0; i < 10; i++) expect(await get(served.url, `/mixed-${i}`, 'mixed.test')).toMatchObject({ status: 200, servedBy: 'b' });
    expect(sick.requests).toEqual([]);
    expect((await status(served)).backends.find((backend) => backend.backend === sick.address)).toMatchObject({ health: 'down', checks: 'down' });
  });

  it('probes a backend added by a reload before it gets traffic: a failing or dead one never gets a request', async () => {
    // Its probe takes 700 ms to fail: requests sent right after the reload would meet it unprobed.
    const probesBefore = sickAdded.probes;
    await reloadWith(config(route('new.test', [b.address]), mixed(), route('added.test', [sickAdded.address, `127.0.0.1:${deadAdded}`, b.address], ', algorithm: round_robin')));
    expect(sickAdded.probes).toBeGreaterThan(probesBefore);
    const ids = Array.from({ length: 9 }, (_, i) => `reload-added-${runtime}-${i}`);
    for (const id of ids) expect(await get(served.url, '/x', 'added.test', id)).toMatchObject({ status: 200, servedBy: 'b' });
    expect(sickAdded.requests).toEqual([]);
    // The access log: each went to b at the first attempt, none tried the dead one.
    await waitFor(() => ids.every((id) => served.stdout().includes(id)), 5000, 'the access log lines');
    const lines = served
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { request_id: string; attempts: number; backend: string })
      .filter((line) => ids.includes(line.request_id));
    expect(lines.map((line) => [line.attempts, line.backend])).toEqual(ids.map(() => [1, b.address]));
  });
});

describe.each(['node', 'deno'] as const)('--watch (%s)', (runtime) => {
  let served: ServeProcess;
  beforeAll(async () => void (served = await serveProcess(runtime, config(route('w0.test', [a.address])), { args: ['--watch', '--access-log', 'off'] })), 40_000);
  afterAll(async () => void (await served?.stop()));

  /** Waits up to 2 s (and the time a request takes) for `host` to be routed. */
  const routedWithin2s = (host: string) =>
    waitFor(async () => (await get(served.url, '/x', host)).status === 200, 2000, `${host} to be routed after the file changed, log:\n${served.stderr()}`);

  it('reloads a file written in place within 2 s, without a signal', async () => {
    expect((await get(served.url, '/x', 'w1.test')).status).toBe(404);
    await writeFile(served.file, config(route('w1.test', [b.address])));
    await routedWithin2s('w1.test');
    expect((await get(served.url, '/x', 'w0.test')).status).toBe(404);
    expect(served.stderr()).toMatch(/config reloaded/);
  });

  it('reloads a file an editor saves by writing a temporary file and renaming it over the config, save after save', async () => {
    // The file first watched is gone after the first save: each later one must be seen as well.
    for (const host of ['w2.test', 'w3.test']) {
      const temporary = join(dirname(served.file), '.lb.yaml.swp-tmp');
      await writeFile(temporary, config(route(host, [b.address])));
      await rename(temporary, served.file);
      await routedWithin2s(host);
    }
    expect((await get(served.url, '/x', 'w2.test')).status).toBe(404);
    await writeFile(served.file, config(route('w4.test', [b.address])));
    await routedWithin2s('w4.test');
  });
});
