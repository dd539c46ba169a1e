import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deadPort } from '../helpers/deadPort.ts';
import { startPrometheus, type PrometheusSample, type RunningPrometheus } from '../helpers/prometheus.ts';
import { checkMetrics } from '../helpers/promtool.ts';
import { startOnRuntime } from '../helpers/runtimes.ts';
import { CLI, spawnUntilListening, writeConfig } from '../helpers/startBalancer.ts';
import { startTestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// GET /metrics on the admin listener (issue 13, point 3), against `switchyard serve` from the build
// (run `npm run build` first) and `deno task serve`: the text passes Prometheus' own linter
// (promtool, from Debian's prometheus package), carries the documented series with the values the
// traffic made, and a real Prometheus server scrapes it over loopback.

type Cleanup = () => Promise<unknown>;
const closeAll = (cleanup: Cleanup[]) => Promise.all(cleanup.splice(0).map((close) => close().catch(() => {})));

/** A balancer as these tests need it: the proxy's URL, the admin listener's, and its output. */
interface Balancer {
  readonly url: string;
  readonly adminUrl: string;
  output(): string;
}

/** On Node, also the config file it reads and a way to send it SIGHUP. */
interface NodeBalancer extends Balancer {
  readonly configFile: string;
  hangUp(): void;
}

/** Waits for the `admin listening on http://HOST:PORT` line that follows `listening on`. */
async function adminUrlOf(output: () => string): Promise<string> {
  const admin = /admin listening on (http:\/\/\S+)/;
  await waitFor(() => admin.test(output()), 10_000, `an "admin listening on" line in:\n${output()}`);
  return admin.exec(output())![1];
}

/** `switchyard serve --admin 127.0.0.1:0` on Node, from the build. */
async function onNode(config: string, cleanup: Cleanup[]): Promise<NodeBalancer> {
  const configFile = await writeConfig(config);
  const balancer = await spawnUntilListening(process.execPath, [CLI, 'serve', '--config', configFile, '--port', '0', '--hostname', '127.0.0.1', '--admin', '127.0.0.1:0']);
  cleanup.push(() => balancer.stop());
  return { url: balancer.url, adminUrl: await adminUrlOf(balancer.output), configFile, output: balancer.output, hangUp: () => balancer.process.kill('SIGHUP') };
}

/** `deno task serve`, the admin listener asked for in the config (`admin.address`), the flag's twin. */
async function onDeno(config: string, cleanup: Cleanup[]): Promise<Balancer> {
  const balancer = await startOnRuntime('deno', `admin: { address: "127.0.0.1:0" }\n${config}`);
  cleanup.push(() => balancer.stop());
  return { url: balancer.url, adminUrl: await adminUrlOf(balancer.output), output: balancer.output };
}

/** A GET with a Host of our choosing (node:http: fetch will not send one). */
function get(url: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(`${url}${path}`, { headers: { host }, agent: false }, (response) => {
      response.resume().on('end', () => resolve(response.statusCode!));
    })
      .on('error', reject)
      .end();
  });
}

async function getMetrics(adminUrl: string, token?: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`${adminUrl}/metrics`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

/** One sample of the text exposition format. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Reads Prometheus text exposition (format 0.0.4) into samples; comments and blank lines are skipped. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : Number(match[3]);
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** Looks samples up by name and a subset of their labels. */
class Exposition {
  readonly samples: Sample[];

  constructor(readonly text: string) {
    this.samples = parseExposition(text);
  }

  matching(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  }

  /** The value of the one sample with that name and those labels; undefined when there is none, an error when several. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.matching(name, labels);
    if (found.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${found.length} samples`);
    return found[0]?.value;
  }

  /** The sum over every sample with that name and those labels (0 when there is none). */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((total, sample) => total + sample.value, 0);
  }
}

/** What one run of the traffic below left behind: the metrics after it, and during a held request. */
interface Scenario {
  readonly after: { status: number; contentType: string | null; text: string };
  readonly metrics: Exposition;
  readonly during: Exposition;
  readonly startedAt: number;
  readonly listeningBy: number;
  readonly secretPath: string;
  readonly secretHost: string;
  readonly statuses: Record<string, number[]>;
  /** The backends' names in /api/status. */
  readonly statusNames: string[];
  /** Backend names, as /api/status gives them (`127.0.0.1:PORT`, `https://` kept). */
  readonly names: { a: string; b: string; c: string; d: string; e: string; probedDead: string; tlsDead: string; retriedDead: string };
}

/**
 * Five routes over real loopback backends, and traffic that makes every counter move: 2xx, a
 * backend's 404, a firewall 403, two 429s, a retry after a refused connection (which ejects its
 * backend), a 503 from a route whose backends are down, a request no route takes, and a request
 * held by its backend while /metrics is read.
 */
async function runScenario(start: (config: string, cleanup: Cleanup[]) => Promise<Balancer>, cleanup: Cleanup[]): Promise<Scenario> {
  const backends = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => startTestBackend(name)));
  for (const started of backends) cleanup.push(() => started.close());
  const [a, b, c, d, e] = backends;
  const [probedDead, retriedDead, tlsDead] = await Promise.all([deadPort(), deadPort(), deadPort()]);
  const startedAt = Date.now() / 1000;
  const balancer = await start(
    `
health_check: { interval: 1s, timeout: 500ms }
hosts:
  - host: ok.test
    algorithm: round_robin
    servers: [${a.address}, ${b.address}]
    firewall_rules: { path_reject: [/private] }
  - host: slow.test
    servers: [${c.address}]
  - host: limited.test
    servers: [${d.address}]
    rate_limit: { requests: 1, per: 1m, burst: 1 }
  - host: retry.test
    algorithm: round_robin
    health_check: false
    passive_health: { failures: 1, cooldown: 1m }
    servers: [${e.address}, 127.0.0.1:${retriedDead}]
  - host: dead.test
    servers: [127.0.0.1:${probedDead}, https://127.0.0.1:${tlsDead}]
`,
    cleanup,
  );
  const listeningBy = Date.now() / 1000;
  const secretPath = `/secret-${randomUUID()}`;
  const secretHost = `${randomUUID()}.invalid`;

  const statuses: Record<string, number[]> = { ok: [], limited: [], retry: [], dead: [], unrouted: [] };
  for (let i = 0; i < 5; i++) statuses.ok.push(await get(balancer.url, '/hello', 'ok.test'));
  statuses.ok.push(await get(balancer.url, secretPath, 'ok.test'));
  statuses.ok.push(await get(balancer.url, '/status/404', 'ok.test'));
  statuses.ok.push(await get(balancer.url, '/private', 'ok.test'));
  for (let i = 0; i < 3; i++) statuses.limited.push(await get(balancer.url, '/', 'limited.test'));
  for (let i = 0; i < 4; i++) statuses.retry.push(await get(balancer.url, '/', 'retry.test'));
  statuses.dead.push(await get(balancer.url, '/', 'dead.test'));
  statuses.unrouted.push(await get(balancer.url, secretPath, secretHost));

  // A request held by its backend is in flight while /metrics is read.
  const slow = get(balancer.url, '/slow/1500', 'slow.test');
  await waitFor(() => c.seen.some((seen) => seen.url === '/slow/1500'), 5_000, 'the slow request to reach its backend');
  const during = await getMetrics(balancer.adminUrl);
  statuses.slow = [await slow];
  const after = await getMetrics(balancer.adminUrl);
  const status = (await (await fetch(`${balancer.adminUrl}/api/status`, { signal: AbortSignal.timeout(5_000) })).json()) as { backends: { backend: string }[] };

  return {
    statusNames: status.backends.map((backend) => backend.backend),
    after,
    metrics: new Exposition(after.text),
    during: new Exposition(during.text),
    startedAt,
    listeningBy,
    secretPath,
    secretHost,
    statuses,
    names: {
      a: a.address,
      b: b.address,
      c: c.address,
      d: d.address,
      e: e.address,
      probedDead: `127.0.0.1:${probedDead}`,
      tlsDead: `https://127.0.0.1:${tlsDead}`,
      retriedDead: `127.0.0.1:${retriedDead}`,
    },
  };
}

const ROUTES = ['ok.test', 'slow.test', 'limited.test', 'retry.test', 'dead.test'];


describe.each([
  { runtime: 'Node', start: onNode },
  { runtime: 'Deno', start: onDeno },
])('GET /metrics on $runtime', ({ start }) => {
  const cleanup: Cleanup[] = [];
  let run: Scenario;
  beforeAll(async () => {
    run = await runScenario(start, cleanup);
  }, 60_000);
  afterAll(() => closeAll(cleanup));

  it('answered the traffic as the config says', () => {
    expect(run.statuses).toEqual({ ok: [200, 200, 200, 200, 200, 200, 404, 403], limited: [200, 429, 429], retry: [200, 200, 200, 200], dead: [503], unrouted: [404], slow: [200] });
  });

  it('is Prometheus text that promtool check metrics passes without a lint problem', async () => {
    expect(run.after.status).toBe(200);
    expect(run.after.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await checkMetrics(run.after.text)).toEqual({ code: 0, output: '' });
  });

  it('counts requests by route and status class, and times them in a histogram per route', () => {
    const { metrics } = run;
    expect(metrics.matching('switchyard_requests_total').filter((sample) => !/^[1-5]xx$/.test(sample.labels.code))).toEqual([]);
    expect(metrics.value('switchyard_requests_total', { route: 'ok.test', code: '2xx' })).toBe(6);
    expect(metrics.value('switchyard_requests_total', { route: 'ok.test', code: '4xx' })).toBe(2);
    expect(metrics.value('switchyard_requests_total', { route: 'limited.test', code: '2xx' })).toBe(1);
    expect(metrics.value('switchyard_requests_total', { route: 'limited.test', code: '4xx' })).toBe(2);
    expect(metrics.value('switchyard_requests_total', { route: 'retry.test', code: '2xx' })).toBe(4);
    expect(metrics.value('switchyard_requests_total', { route: 'dead.test', code: '5xx' })).toBe(1);
    expect(metrics.value('switchyard_requests_total', { route: 'slow.test', code: '2xx' })).toBe(1);
    for (const route of ROUTES) {
      const count = metrics.sum('switchyard_requests_total', { route });
      expect(metrics.value('switchyard_request_duration_seconds_count', { route }), route).toBe(count);
      expect(metrics.value('switchyard_request_duration_seconds_bucket', { route, le: '+Inf' }), route).toBe(count);
      expect(metrics.matching('switchyard_request_duration_seconds_bucket', { route }).length, route).toBeGreaterThan(2);
    }
    expect(metrics.value('switchyard_request_duration_seconds_sum', { route: 'slow.test' })).toBeGreaterThanOrEqual(1.4);
    expect(metrics.value('switchyard_request_duration_seconds_bucket', { route: 'slow.test', le: '1' })).toBe(0);
    expect(metrics.value('switchyard_request_duration_seconds_sum', { route: 'ok.test' })).toBeLessThan(5);
  });

  it('counts tries by route, backend (named as /api/status names it) and status class', () => {
    const { metrics, names } = run;
    expect(metrics.sum('switchyard_backend_requests_total', { route: 'ok.test', code: '2xx' })).toBe(6);
    expect(metrics.sum('switchyard_backend_requests_total', { route: 'ok.test', code: '4xx' })).toBe(1);
    expect(new Set(metrics.matching('switchyard_backend_requests_total', { route: 'ok.test' }).map((sample) => sample.labels.backend))).toEqual(new Set([names.a, names.b]));
    expect(metrics.value('switchyard_backend_requests_total', { route: 'retry.test', backend: names.e, code: '2xx' })).toBe(4);
    expect(metrics.value('switchyard_backend_requests_total', { route: 'slow.test', backend: names.c, code: '2xx' })).toBe(1);
    expect(metrics.value('switchyard_backend_requests_total', { route: 'limited.test', backend: names.d, code: '2xx' })).toBe(1);
  });

  it('reports each backend up or down, its ejections and its requests in flight', () => {
    const { metrics, during, names } = run;
    for (const up of [names.a, names.b, names.c, names.d, names.e]) expect(metrics.value('switchyard_backend_up', { backend: up }), up).toBe(1);
    expect(metrics.value('switchyard_backend_up', { backend: names.probedDead })).toBe(0);
    expect(metrics.value('switchyard_backend_up', { backend: names.tlsDead })).toBe(0);
    expect(metrics.value('switchyard_backend_ejections_total', { backend: names.retriedDead })).toBe(1);
    expect(metrics.sum('switchyard_backend_ejections_total', { backend: names.e })).toBe(0);
    expect(during.value('switchyard_backend_in_flight', { backend: names.c })).toBe(1);
    expect(metrics.value('switchyard_backend_in_flight', { backend: names.c })).toBe(0);
    expect(metrics.sum('switchyard_backend_in_flight')).toBe(0);
  });

  it('counts retries, rate-limited requests and firewall refusals per route', () => {
    const { metrics } = run;
    expect(metrics.value('switchyard_retries_total', { route: 'retry.test' })).toBe(1);
    expect(metrics.value('switchyard_rate_limited_total', { route: 'limited.test' })).toBe(2);
    expect(metrics.value('switchyard_firewall_refused_total', { route: 'ok.test' })).toBe(1);
    expect(metrics.sum('switchyard_retries_total')).toBe(1);
    expect(metrics.sum('switchyard_rate_limited_total')).toBe(2);
    expect(metrics.sum('switchyard_firewall_refused_total')).toBe(1);
  });

  it('reports no reload yet, with both results present, and when the config in use was loaded', () => {
    const { metrics } = run;
    expect(metrics.value('switchyard_config_reloads_total', { result: 'success' })).toBe(0);
    expect(metrics.value('switchyard_config_reloads_total', { result: 'failure' })).toBe(0);
    const loaded = metrics.value('switchyard_config_last_reload_success_timestamp_seconds');
    expect(loaded).toBeGreaterThanOrEqual(Math.floor(run.startedAt));
    expect(loaded).toBeLessThanOrEqual(Math.ceil(run.listeningBy));
  });

  it("carries the process metrics of prom-client's default collectors: CPU, start time, heap", () => {
    const { metrics } = run;
    expect(metrics.value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(metrics.value('process_start_time_seconds')).toBeGreaterThan(0);
    expect(metrics.value('nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
  });

  it('reports the resident memory', () => {
    expect(run.metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('keeps label values bounded: routes and backends from the config, never a path, a host no route takes, or the client', () => {
    const { metrics, after } = run;
    expect(after.text).not.toContain(run.secretPath.slice(1));
    expect(after.text).not.toContain(run.secretHost);
    const labelValues = new Set(metrics.samples.flatMap((sample) => Object.values(sample.labels)));
    for (const client of ['127.0.0.1', '::ffff:127.0.0.1', '::1']) expect(labelValues).not.toContain(client);
    const routes = new Set(metrics.samples.flatMap((sample) => (sample.labels.route === undefined ? [] : [sample.labels.route])));
    expect([...routes].filter((route) => !ROUTES.includes(route) && route !== '(none)')).toEqual([]);
    const backends = new Set(metrics.samples.flatMap((sample) => (sample.labels.backend === undefined ? [] : [sample.labels.backend])));
    expect(backends).toEqual(new Set(Object.values(run.names)));
    expect(backends).toEqual(new Set(run.statusNames));
  });
});

describe('metrics across reloads, and a real Prometheus server', () => {
  const cleanup: Cleanup[] = [];
  afterEach(() => closeAll(cleanup));

  it('counts a SIGHUP reload as a success and moves the load time; a broken file through POST /api/reload as a failure', async () => {
    const a = await startTestBackend('a');
    cleanup.push(() => a.close());
    const config = (host: string) => `hosts:\n  - host: ${host}\n    servers: [${a.address}]\n`;
    const balancer = await onNode(config('ok.test'), cleanup);
    const before = new Exposition((await getMetrics(balancer.adminUrl)).text);
    const loadedAtStart = before.value('switchyard_config_last_reload_success_timestamp_seconds')!;

    await writeFile(balancer.configFile, config('new.test'));
    const reloadedFrom = Date.now() / 1000;
    balancer.hangUp();
    let metrics = before;
    await waitFor(
      async () => (metrics = new Exposition((await getMetrics(balancer.adminUrl)).text)).value('switchyard_config_reloads_total', { result: 'success' }) === 1,
      10_000,
      'switchyard_config_reloads_total{result="success"} 1 after SIGHUP',
    );
    expect(metrics.value('switchyard_config_reloads_total', { result: 'failure' })).toBe(0);
    const loadedAtReload = metrics.value('switchyard_config_last_reload_success_timestamp_seconds')!;
    expect(loadedAtReload).toBeGreaterThan(loadedAtStart);
    expect(loadedAtReload).toBeGreaterThanOrEqual(Math.floor(reloadedFrom));
    expect(metrics.value('switchyard_requests_total', { route: 'new.test', code: '2xx' })).toBe(0);
    expect(await get(balancer.url, '/', 'new.test')).toBe(200);

    await writeFile(balancer.configFile, `hosts:\n  - host: broken.test\n    servers: [${a.address}]\n    algorithm: no_such_algorithm\n`);
    const refused = await fetch(`${balancer.adminUrl}/api/reload`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    expect(refused.status).toBe(422);
    await refused.arrayBuffer();
    metrics = new Exposition((await getMetrics(balancer.adminUrl)).text);
    expect(metrics.value('switchyard_config_reloads_total', { result: 'failure' })).toBe(1);
    expect(metrics.value('switchyard_config_reloads_total', { result: 'success' })).toBe(1);
    expect(metrics.value('switchyard_config_last_reload_success_timestamp_seconds')).toBe(loadedAtReload);
    expect(metrics.value('switchyard_requests_total', { route: 'new.test', code: '2xx' })).toBe(1);
    expect(await get(balancer.url, '/', 'new.test')).toBe(200);
  });

  it('is 401 without the admin token, and a real Prometheus server given the token scrapes it and answers a query', { timeout: 45_000 }, async () => {
    const token = `t-${randomUUID()}`;
    const a = await startTestBackend('a');
    cleanup.push(() => a.close());
    const balancer = await onNode(`admin: { token: "${token}" }\nhosts:\n  - host: ok.test\n    servers: [${a.address}]\n`, cleanup);
    expect((await getMetrics(balancer.adminUrl)).status).toBe(401);
    expect((await getMetrics(balancer.adminUrl, 'wrong')).status).toBe(401);
    expect((await getMetrics(balancer.adminUrl, token)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect(await get(balancer.url, '/', 'ok.test')).toBe(200);

    const prometheus = await startPrometheus({ target: new URL(balancer.adminUrl).host, bearerToken: token });
    cleanup.push(() => prometheus.stop());
    const samples = await scrapedBy(prometheus, 'switchyard_requests_total{route="ok.test",code="2xx"}');
    expect(samples).toEqual([{ metric: expect.objectContaining({ __name__: 'switchyard_requests_total', route: 'ok.test', code: '2xx', job: 'switchyard' }), value: 3 }]);
    expect(await prometheus.query('up{job="switchyard"}')).toEqual([expect.objectContaining({ value: 1 })]);
  });
});

/** Polls Prometheus (every 250 ms, 20 s at most) until the query finds a series; the timeout names the scrape target's state. */
async function scrapedBy(prometheus: RunningPrometheus, promql: string): Promise<PrometheusSample[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const samples = await prometheus.query(promql);
    if (samples.length > 0) return samples;
    if (Date.now() > deadline) throw new Error(`Prometheus found no ${promql} within 20 s; targets: ${JSON.stringify(await prometheus.targets())}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
