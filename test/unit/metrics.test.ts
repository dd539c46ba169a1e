import { describe, expect, it } from 'vitest';
import { Metrics, NO_ROUTE } from '../../src/admin/metrics.ts';
import type { CompiledConfig } from '../../src/core/config/compileConfig.ts';
import { loadConfig, type LoadedConfig } from '../../src/core/config/loadConfig.ts';
import { RequestRecord, type Attempt } from '../../src/core/observe/RequestRecord.ts';
import { Backend } from '../../src/core/pool/Backend.ts';
import type { Route } from '../../src/core/Route.ts';
import { manualClock } from '../helpers/manualClock.ts';

/** One sample of the exposition: its labels and value. */
interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of `name` in Prometheus text, label values unescaped. */
function samples(text: string, name: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = JSON.parse(`"${value}"`);
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}

/** The value of the one sample of `name` with exactly these labels; undefined when there is none. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples(text, name).filter((sample) => {
    const keys = Object.keys(sample.labels);
    return keys.length === Object.keys(labels).length && keys.every((key) => sample.labels[key] === labels[key]);
  });
  expect(matching.length, `${name} ${JSON.stringify(labels)} appears at most once`).toBeLessThanOrEqual(1);
  return matching[0]?.value;
}

const TEXT = `
health_check: false
passive_health: { failures: 2, cooldown: 10s }
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:8081, "http://127.0.0.1:8082/base"]
paths:
  - path: /apples
    servers: [127.0.0.1:8081]
`;

function setup(text = TEXT, options: { now?: () => number } = {}) {
  let config: CompiledConfig = loadConfig(text, 'lb.yaml', options);
  const metrics = new Metrics(() => config);
  metrics.watch(config, 1_700_000_000_000);
  const mango = config.routesInOrder[0];
  const apples = config.routesInOrder[1];
  const [one, two] = config.backends;
  return { metrics, config, mango, apples, one, two, use: (next: CompiledConfig) => (config = next) };
}

/** A request done: its route (or none), the tries, the status sent, how long it took. */
function record(route: Route | undefined, status: number, attempts: Attempt[] = [], extra: Partial<Pick<RequestRecord, 'refusedBy' | 'error'>> = {}): RequestRecord {
  const done = new RequestRecord({ wall: 0, monotonic: 0 });
  done.route = route;
  done.attempts.push(...attempts);
  Object.assign(done, extra);
  done.finish(status, 20);
  return done;
}

describe('Metrics: requests', () => {
  it('counts requests by route and status class', async () => {
    const { metrics, mango, one } = setup();
    metrics.observe(record(mango, 200, [{ backend: one, status: 200 }]));
    metrics.observe(record(mango, 204, [{ backend: one, status: 204 }]));
    metrics.observe(record(mango, 302, [{ backend: one, status: 302 }]));
    metrics.observe(record(mango, 404, [{ backend: one, status: 404 }]));
    metrics.observe(record(mango, 502, [{ backend: one, status: undefined }]));
    metrics.observe(record(mango, 101, [{ backend: one, status: 101 }]));
    const text = await metrics.text();
    const name = 'switchyard_requests_total';
    expect(value(text, name, { route: 'www.mango.com', code: '1xx' })).toBe(1);
    expect(value(text, name, { route: 'www.mango.com', code: '2xx' })).toBe(2);
    expect(value(text, name, { route: 'www.mango.com', code: '3xx' })).toBe(1);
    expect(value(text, name, { route: 'www.mango.com', code: '4xx' })).toBe(1);
    expect(value(text, name, { route: 'www.mango.com', code: '5xx' })).toBe(1);
  });

  it('counts a request no route took under route="(none)"', async () => {
    const { metrics } = setup();
    metrics.observe(record(undefined, 404, [], { error: 'Not Found' }));
    metrics.observe(record(undefined, 400, [], { error: 'Bad Request: the path cannot be normalised safely' }));
    const text = await metrics.text();
    expect(NO_ROUTE).toBe('(none)');
    expect(value(text, 'switchyard_requests_total', { route: '(none)', code: '4xx' })).toBe(2);
  });

  it('starts every route of a watched config at zero, for every class', async () => {
    const { metrics } = setup();
    const text = await metrics.text();
    for (const route of ['www.mango.com', '/apples']) {
      for (const code of ['1xx', '2xx', '3xx', '4xx', '5xx']) expect(value(text, 'switchyard_requests_total', { route, code }), `${route} ${code}`).toBe(0);
      expect(value(text, 'switchyard_retries_total', { route })).toBe(0);
      expect(value(text, 'switchyard_rate_limited_total', { route })).toBe(0);
      expect(value(text, 'switchyard_firewall_refused_total', { route })).toBe(0);
    }
  });

  it('observes the duration in seconds in the route histogram', async () => {
    const { metrics, mango, one } = setup();
    metrics.observe(record(mango, 200, [{ backend: one, status: 200 }]));
    const text = await metrics.text();
    expect(value(text, 'switchyard_request_duration_seconds_count', { route: 'www.mango.com' })).toBe(1);
    expect(value(text, 'switchyard_request_duration_seconds_sum', { route: 'www.mango.com' })).toBeCloseTo(0.02, 6);
    expect(value(text, 'switchyard_request_duration_seconds_bucket', { route: 'www.mango.com', le: '0.01' })).toBe(0);
    expect(value(text, 'switchyard_request_duration_seconds_bucket', { route: 'www.mango.com', le: '0.025' })).toBe(1);
  });
});

describe('Metrics: the duration histogram', () => {
  it('puts a duration on a bucket bound in that bucket, counts buckets cumulatively, and one past the last only in +Inf', async () => {
    const { metrics, mango } = setup();
    for (const ms of [5, 5.0001, 30_000, 40_000]) {
      const done = new RequestRecord({ wall: 0, monotonic: 0 });
      done.route = mango;
      done.finish(200, ms);
      metrics.observe(done);
    }
    const text = await metrics.text();
    const bucket = (le: string) => value(text, 'switchyard_request_duration_seconds_bucket', { route: 'www.mango.com', le });
    expect([bucket('0.005'), bucket('0.01'), bucket('10'), bucket('30'), bucket('+Inf')]).toEqual([1, 2, 2, 3, 4]);
    expect(value(text, 'switchyard_request_duration_seconds_count', { route: 'www.mango.com' })).toBe(4);
    expect(value(text, 'switchyard_request_duration_seconds_sum', { route: 'www.mango.com' })).toBeCloseTo(70.0100001, 6);
    expect(text).toMatch(/^# TYPE switchyard_request_duration_seconds histogram$/m);
  });
});

describe('Metrics: tries and retries', () => {
  it('counts retries as the tries after the first', async () => {
    const { metrics, mango, one, two } = setup();
    metrics.observe(record(mango, 200, [{ backend: one, status: 200 }]));
    metrics.observe(
      record(mango, 200, [
        { backend: one, status: undefined },
        { backend: two, status: undefined },
        { backend: one, status: 200 },
      ]),
    );
    metrics.observe(record(mango, 503, [{ backend: one, status: undefined }, { backend: two, status: undefined }]));
    expect(value(await metrics.text(), 'switchyard_retries_total', { route: 'www.mango.com' })).toBe(3);
  });

  it('counts each try per backend by the class of its answer, a try never answered as 5xx', async () => {
    const { metrics, mango, apples, one, two } = setup();
    metrics.observe(
      record(mango, 200, [
        { backend: one, status: undefined },
        { backend: two, status: 200 },
      ]),
    );
    metrics.observe(record(mango, 503, [{ backend: two, status: 503 }]));
    metrics.observe(record(apples, 404, [{ backend: one, status: 404 }]));
    const text = await metrics.text();
    const name = 'switchyard_backend_requests_total';
    expect(value(text, name, { route: 'www.mango.com', backend: '127.0.0.1:8081', code: '5xx' })).toBe(1);
    expect(value(text, name, { route: 'www.mango.com', backend: '127.0.0.1:8082/base', code: '2xx' })).toBe(1);
    expect(value(text, name, { route: 'www.mango.com', backend: '127.0.0.1:8082/base', code: '5xx' })).toBe(1);
    expect(value(text, name, { route: '/apples', backend: '127.0.0.1:8081', code: '4xx' })).toBe(1);
    expect(value(text, name, { route: '/apples', backend: '127.0.0.1:8082/base', code: '4xx' }) ?? 0).toBe(0);
  });

  // docs/operations.md: "Every route's and backend's series start at zero when the config is
  // loaded, so a rate() is defined before the first request." Metrics.watch() starts the route
  // series and the ejections at zero, but switchyard_backend_requests_total only gets a series once
  // a try with that class has been counted.
  it('starts every backend_requests_total series of a watched config at zero, per route, backend and class, as the docs promise', async () => {
    const { metrics, mango, one } = setup();
    let text = await metrics.text();
    const name = 'switchyard_backend_requests_total';
    for (const code of ['1xx', '2xx', '3xx', '4xx', '5xx']) {
      expect(value(text, name, { route: 'www.mango.com', backend: '127.0.0.1:8081', code }), `www.mango.com 127.0.0.1:8081 ${code}`).toBe(0);
      expect(value(text, name, { route: 'www.mango.com', backend: '127.0.0.1:8082/base', code }), `www.mango.com 127.0.0.1:8082/base ${code}`).toBe(0);
      expect(value(text, name, { route: '/apples', backend: '127.0.0.1:8081', code }), `/apples 127.0.0.1:8081 ${code}`).toBe(0);
    }
    // Nor does a first failed try start its backend's 2xx series, so an error ratio has no denominator.
    metrics.observe(record(mango, 502, [{ backend: one, status: undefined }]));
    text = await metrics.text();
    expect(value(text, name, { route: 'www.mango.com', backend: '127.0.0.1:8081', code: '2xx' })).toBe(0);
  });

  it('counts no backend try for a request the balancer answered itself', async () => {
    const { metrics, mango } = setup();
    metrics.observe(record(mango, 503, [], { error: 'no healthy backend' }));
    const text = await metrics.text();
    expect(samples(text, 'switchyard_backend_requests_total').filter((sample) => sample.value > 0)).toEqual([]);
    expect(value(text, 'switchyard_requests_total', { route: 'www.mango.com', code: '5xx' })).toBe(1);
  });
});

describe('Metrics: refusals', () => {
  it('counts 429s from the rate limit and 403s from the firewall by route, apart', async () => {
    const { metrics, mango, apples } = setup();
    metrics.observe(record(mango, 429, [], { refusedBy: 'rate_limit' }));
    metrics.observe(record(mango, 429, [], { refusedBy: 'rate_limit' }));
    metrics.observe(record(mango, 403, [], { refusedBy: 'firewall', error: 'firewall: path_reject' }));
    metrics.observe(record(apples, 403, [], { refusedBy: 'firewall', error: 'firewall: ip_reject' }));
    // A 403 the backend answered is not the firewall's.
    metrics.observe(record(apples, 403, [{ backend: new Backend({ origin: 'http://127.0.0.1:8081', basePath: '' }), status: 403 }]));
    const text = await metrics.text();
    expect(value(text, 'switchyard_rate_limited_total', { route: 'www.mango.com' })).toBe(2);
    expect(value(text, 'switchyard_rate_limited_total', { route: '/apples' })).toBe(0);
    expect(value(text, 'switchyard_firewall_refused_total', { route: 'www.mango.com' })).toBe(1);
    expect(value(text, 'switchyard_firewall_refused_total', { route: '/apples' })).toBe(1);
    expect(value(text, 'switchyard_requests_total', { route: '/apples', code: '4xx' })).toBe(2);
  });
});

describe('Metrics: backends', () => {
  it('counts an ejection once, even when watch() is called again after a reload with the same HealthState', async () => {
    const clock = manualClock();
    const { metrics, config, one } = setup(TEXT, { now: clock.now });
    // The reload: a new config whose backend took over the health of the one before.
    const next = loadConfig(TEXT, 'lb.yaml', { now: clock.now });
    for (const backend of next.backends) backend.adopt(config.backends.find((each) => each.id === backend.id)!, true);
    expect(next.backends[0].health).toBe(one.health);
    metrics.watch(next, 1_700_000_100_000);
    metrics.watch(next, 1_700_000_200_000);
    one.health.recordFailure('GET / -> 502');
    one.health.recordFailure('GET / -> 502');
    expect(one.health.isEjected(clock.now())).toBe(true);
    const text = await metrics.text();
    expect(value(text, 'switchyard_backend_ejections_total', { backend: '127.0.0.1:8081' })).toBe(1);
    expect(value(text, 'switchyard_backend_ejections_total', { backend: '127.0.0.1:8082/base' })).toBe(0);
  });

  it('counts every ejection of a backend, one per ejection', async () => {
    const clock = manualClock();
    const { metrics, one } = setup(TEXT, { now: clock.now });
    one.health.recordFailure('x');
    one.health.recordFailure('x');
    await clock.advance(10_000);
    // On probation after the cool-down: the next failure ejects it again at once.
    one.health.recordFailure('x');
    expect(value(await metrics.text(), 'switchyard_backend_ejections_total', { backend: '127.0.0.1:8081' })).toBe(2);
  });

  it('counts the ejections of a backend a reload adds with a fresh health', async () => {
    const clock = manualClock();
    const { metrics, use } = setup(TEXT, { now: clock.now });
    const next = loadConfig(TEXT.replace('[127.0.0.1:8081]', '[127.0.0.1:8081, 127.0.0.1:8083]'), 'lb.yaml', { now: clock.now });
    use(next);
    metrics.watch(next, 1_700_000_100_000);
    const added = next.backends.find((backend) => backend.name === '127.0.0.1:8083')!;
    expect(value(await metrics.text(), 'switchyard_backend_ejections_total', { backend: '127.0.0.1:8083' })).toBe(0);
    added.health.recordFailure('x');
    added.health.recordFailure('x');
    expect(value(await metrics.text(), 'switchyard_backend_ejections_total', { backend: '127.0.0.1:8083' })).toBe(1);
  });

  it('reports backend_up 1 for a healthy backend and 0 for one down by checks or ejected', async () => {
    const checked = `
health_check: { interval: 1h, unhealthy_threshold: 1 }
passive_health: { failures: 1, cooldown: 1h }
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:8081, 127.0.0.1:8082, 127.0.0.1:8083]
`;
    const { metrics, config } = setup(checked);
    const [up, down, ejected] = config.backends;
    let text = await metrics.text();
    for (const backend of ['127.0.0.1:8081', '127.0.0.1:8082', '127.0.0.1:8083']) expect(value(text, 'switchyard_backend_up', { backend })).toBe(1);
    up.health.recordProbe(true, 'GET /healthcheck -> 200');
    down.health.recordProbe(false, 'GET /healthcheck -> 503');
    ejected.health.recordFailure('GET / -> 502');
    text = await metrics.text();
    expect(value(text, 'switchyard_backend_up', { backend: '127.0.0.1:8081' })).toBe(1);
    expect(value(text, 'switchyard_backend_up', { backend: '127.0.0.1:8082' })).toBe(0);
    expect(value(text, 'switchyard_backend_up', { backend: '127.0.0.1:8083' })).toBe(0);
  });

  it('reads in-flight counts at each scrape, from the config in use', async () => {
    const { metrics, one, two, use } = setup();
    one.inFlight = 3;
    let text = await metrics.text();
    expect(value(text, 'switchyard_backend_in_flight', { backend: '127.0.0.1:8081' })).toBe(3);
    expect(value(text, 'switchyard_backend_in_flight', { backend: '127.0.0.1:8082/base' })).toBe(0);
    one.inFlight = 1;
    two.inFlight = 2;
    text = await metrics.text();
    expect(value(text, 'switchyard_backend_in_flight', { backend: '127.0.0.1:8081' })).toBe(1);
    expect(value(text, 'switchyard_backend_in_flight', { backend: '127.0.0.1:8082/base' })).toBe(2);
    // After a reload that dropped a backend, its gauge is gone; the new one's is there.
    use(loadConfig(`
health_check: false
paths:
  - path: /
    servers: [127.0.0.1:8090]
`));
    text = await metrics.text();
    expect(value(text, 'switchyard_backend_in_flight', { backend: '127.0.0.1:8081' })).toBeUndefined();
    expect(value(text, 'switchyard_backend_in_flight', { backend: '127.0.0.1:8090' })).toBe(0);
    expect(value(text, 'switchyard_backend_up', { backend: '127.0.0.1:8081' })).toBeUndefined();
  });
});

describe('Metrics: reloads', () => {
  it('starts the reload counters at zero for success and failure, and counts each result', async () => {
    const { metrics } = setup();
    let text = await metrics.text();
    expect(value(text, 'switchyard_config_reloads_total', { result: 'success' })).toBe(0);
    expect(value(text, 'switchyard_config_reloads_total', { result: 'failure' })).toBe(0);
    metrics.reloaded('failure');
    metrics.reloaded('success');
    metrics.reloaded('success');
    text = await metrics.text();
    expect(value(text, 'switchyard_config_reloads_total', { result: 'success' })).toBe(2);
    expect(value(text, 'switchyard_config_reloads_total', { result: 'failure' })).toBe(1);
  });

  it('gives the time the config in use was loaded, in seconds, as of the last watch()', async () => {
    const { metrics, config } = setup();
    expect(value(await metrics.text(), 'switchyard_config_last_reload_success_timestamp_seconds')).toBe(1_700_000_000);
    metrics.watch(config, 1_700_000_123_500);
    expect(value(await metrics.text(), 'switchyard_config_last_reload_success_timestamp_seconds')).toBe(1_700_000_123.5);
  });

  it('keeps the series of a route a reload removed, and starts the new ones at zero', async () => {
    const { metrics, mango, one, use } = setup();
    metrics.observe(record(mango, 200, [{ backend: one, status: 200 }]));
    const next: LoadedConfig = loadConfig(`
health_check: false
paths:
  - path: /pears
    servers: [127.0.0.1:8090]
`);
    use(next);
    metrics.watch(next, 1_700_000_100_000);
    const text = await metrics.text();
    expect(value(text, 'switchyard_requests_total', { route: 'www.mango.com', code: '2xx' })).toBe(1);
    expect(value(text, 'switchyard_requests_total', { route: '/pears', code: '2xx' })).toBe(0);
  });
});

describe('Metrics: the exposition', () => {
  it('carries the process metrics and the Prometheus content type', async () => {
    const { metrics } = setup();
    const text = await metrics.text();
    expect(text).toContain('# TYPE switchyard_requests_total counter');
    expect(text).toContain('# TYPE switchyard_request_duration_seconds histogram');
    expect(text).toContain('# TYPE switchyard_backend_up gauge');
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('keeps each Metrics in its own registry: two do not count each other', async () => {
    const first = setup();
    const second = setup();
    first.metrics.observe(record(first.mango, 200, [{ backend: first.one, status: 200 }]));
    expect(value(await second.metrics.text(), 'switchyard_requests_total', { route: 'www.mango.com', code: '2xx' })).toBe(0);
  });
});
