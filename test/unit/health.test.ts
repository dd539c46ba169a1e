import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/config/ConfigError.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { HealthState } from '../../src/core/health/HealthState.ts';
import { DEFAULT_ACTIVE_CHECK, DEFAULT_PASSIVE_HEALTH } from '../../src/core/health/HealthSettings.ts';
import { startHealthChecks } from '../../src/core/health/startHealthChecks.ts';
import type { Upstream, UpstreamRequest } from '../../src/core/Upstream.ts';
import { UpstreamError } from '../../src/core/UpstreamError.ts';
import { manualClock, seededRandom } from '../helpers/manualClock.ts';

/** A fake upstream whose answer per origin the test sets: a status, 'refused', or 'hang' (until aborted). */
function fakeUpstream(initial: Record<string, number | 'refused' | 'hang'>) {
  const answers = { ...initial };
  const calls: UpstreamRequest[] = [];
  const upstream: Upstream = async (request) => {
    calls.push(request);
    const answer = answers[request.origin] ?? 200;
    if (answer === 'refused') throw new UpstreamError('connect', 'ECONNREFUSED: connect refused');
    if (answer === 'hang') {
      return new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(new UpstreamError('failed', 'aborted'))));
    }
    return new Response(answer === 204 ? null : 'ok', { status: answer });
  };
  return { upstream, answers, calls };
}

describe('active health checks: rise and fall', () => {
  const state = () => new HealthState({ active: { ...DEFAULT_ACTIVE_CHECK, healthyThreshold: 2, unhealthyThreshold: 3 } });

  it('lets the first probe decide at once, in either direction', () => {
    const up = state();
    up.recordProbe(true, 'GET /healthcheck -> 200');
    expect(up.state).toBe('up');
    const down = state();
    expect(down.state).toBe('unknown');
    expect(down.isUp).toBe(true);
    down.recordProbe(false, 'GET /healthcheck -> 404');
    expect(down.state).toBe('down');
    expect(down.isUp).toBe(false);
  });

  it('takes an up backend down only after unhealthy_threshold failures in a row', () => {
    const health = state();
    health.recordProbe(true, 'ok');
    health.recordProbe(false, 'x');
    health.recordProbe(false, 'x');
    health.recordProbe(true, 'ok'); // breaks the streak
    health.recordProbe(false, 'x');
    health.recordProbe(false, 'x');
    expect(health.state).toBe('up');
    health.recordProbe(false, 'x');
    expect(health.state).toBe('down');
  });

  it('brings a down backend back only after healthy_threshold passes in a row', () => {
    const health = state();
    const events: string[] = [];
    health.subscribe((event) => events.push(event.kind));
    health.recordProbe(false, 'x');
    health.recordProbe(true, 'ok');
    health.recordProbe(false, 'x');
    health.recordProbe(true, 'ok');
    expect(health.state).toBe('down');
    health.recordProbe(true, 'ok');
    expect(health.state).toBe('up');
    expect(events).toEqual(['down', 'up']);
  });
});

describe('passive health: ejection and recovery', () => {
  const passive = { ...DEFAULT_PASSIVE_HEALTH, failures: 3, cooldownMs: 10_000, maxCooldownMs: 60_000 };

  it('ejects after N failures in a row, then tries the backend again once the cool-down is over', async () => {
    const clock = manualClock();
    const health = new HealthState({ passive, now: clock.now });
    health.recordFailure('a');
    health.recordFailure('b');
    health.recordSuccess(); // a success resets the count
    health.recordFailure('a');
    health.recordFailure('b');
    expect(health.isEjected(clock.now())).toBe(false);
    health.recordFailure('c');
    expect(health.isEjected(clock.now())).toBe(true);
    await clock.advance(9_999);
    expect(health.isEjected(clock.now())).toBe(true);
    await clock.advance(1);
    expect(health.isEjected(clock.now())).toBe(false);
  });

  it('answers whether a backend is ejected without changing anything; ending the ejection is its own step, told once', async () => {
    const clock = manualClock();
    const health = new HealthState({ passive, now: clock.now });
    const events: string[] = [];
    health.subscribe((event) => events.push(event.kind));
    for (let i = 0; i < 3; i++) health.recordFailure('x');
    expect(health.endEjection(clock.now())).toBe(false); // the cool-down is not over
    await clock.advance(10_000);
    expect(health.isEjected(clock.now())).toBe(false);
    expect(health.isEjected(clock.now())).toBe(false);
    expect(events).toEqual(['ejected']);
    // Time is an argument: the same state read for an earlier moment still says ejected.
    expect(health.isEjected(clock.now() - 1)).toBe(true);
    expect(health.endEjection(clock.now())).toBe(true);
    expect(health.endEjection(clock.now())).toBe(false);
    expect(events).toEqual(['ejected', 'returned']);
  });

  it('ends an ejection that is over before counting the next outcome, so the return is told first', async () => {
    const clock = manualClock();
    const health = new HealthState({ passive, now: clock.now });
    const events: string[] = [];
    health.subscribe((event) => events.push(event.kind));
    for (let i = 0; i < 3; i++) health.recordFailure('x');
    await clock.advance(10_000);
    health.recordFailure('x'); // on probation: ejected again at once
    expect(events).toEqual(['ejected', 'returned', 'ejected']);
  });

  it('doubles the cool-down on repeats, up to max_cooldown, and forgets after a clean spell', async () => {
    const clock = manualClock();
    const health = new HealthState({ passive, now: clock.now });
    const cooldowns: number[] = [];
    health.subscribe((event) => event.kind === 'ejected' && cooldowns.push(event.cooldownMs));
    for (let i = 0; i < 3; i++) health.recordFailure('x');
    await clock.advance(10_000);
    expect(health.isEjected(clock.now())).toBe(false);
    // On probation: one failure ejects again, for twice as long.
    health.recordFailure('x');
    await clock.advance(20_000);
    expect(health.isEjected(clock.now())).toBe(false);
    health.recordFailure('x');
    await clock.advance(40_000);
    expect(health.isEjected(clock.now())).toBe(false);
    health.recordFailure('x');
    expect(cooldowns).toEqual([10_000, 20_000, 40_000, 60_000]);
    await clock.advance(60_000);
    expect(health.isEjected(clock.now())).toBe(false);
    health.recordSuccess(); // off probation
    await clock.advance(60_000); // clean for max_cooldown
    for (let i = 0; i < 3; i++) health.recordFailure('x');
    expect(cooldowns.at(-1)).toBe(10_000);
  });

  it('never ejects when passive health is off', () => {
    const health = new HealthState({});
    for (let i = 0; i < 100; i++) health.recordFailure('x');
    expect(health.isEjected(Date.now())).toBe(false);
  });
});

const TWO_ROUTES = `
hosts:
  - host: a.test
    servers: [localhost:8081, localhost:8082]
paths:
  - path: /a
    servers: [localhost:8081, localhost:8082]
`;

describe('startHealthChecks', () => {
  it('probes GET /healthcheck on each backend once per round, however many routes share it', async () => {
    const config = loadConfig(TWO_ROUTES);
    const fake = fakeUpstream({});
    const clock = manualClock();
    const checks = startHealthChecks(config.backends, { upstream: fake.upstream, log: () => {}, timers: clock.timers, schedule: false });
    await checks.probeAll();
    expect(fake.calls.map((call) => `${call.method} ${call.origin}${call.target}`).sort()).toEqual([
      'GET http://localhost:8081/healthcheck',
      'GET http://localhost:8082/healthcheck',
    ]);
    checks.stop();
  });

  it('logs a backend going down with the reason and a hint when the path is missing', async () => {
    const config = loadConfig(TWO_ROUTES);
    const fake = fakeUpstream({ 'http://localhost:8082': 404 });
    const lines: string[] = [];
    const checks = startHealthChecks(config.backends, { upstream: fake.upstream, log: (line) => lines.push(line), timers: manualClock().timers, schedule: false });
    await checks.probeAll();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^health: http:\/\/localhost:8082 is DOWN: GET \/healthcheck -> 404 \(first check\); if the app does not serve \/healthcheck, set health_check\.path/);
    expect(config.backends.map((backend) => backend.isHealthy(Date.now()))).toEqual([true, false]);
    checks.stop();
  });

  it('counts a probe with no answer within the timeout (1 s by default) as failed', async () => {
    const config = loadConfig(TWO_ROUTES);
    const fake = fakeUpstream({ 'http://localhost:8081': 'hang' });
    const clock = manualClock();
    const lines: string[] = [];
    const checks = startHealthChecks(config.backends, { upstream: fake.upstream, log: (line) => lines.push(line), timers: clock.timers, schedule: false });
    const round = checks.probeAll();
    await clock.advance(999);
    expect(config.backends[0].health.state).toBe('unknown');
    await clock.advance(1);
    await round;
    expect(config.backends[0].health.state).toBe('down');
    expect(lines[0]).toContain('GET /healthcheck -> no answer within 1000 ms');
    checks.stop();
  });

  it('repeats probes every interval plus jitter, honours path, status range and thresholds, and stops cleanly', async () => {
    const config = loadConfig(`
health_check: { path: /status, interval: 2s, jitter: 1s, expected_status: "200-299", healthy_threshold: 2, unhealthy_threshold: 2 }
paths:
  - path: /
    servers: [localhost:8081]
`);
    const [backend] = config.backends;
    const fake = fakeUpstream({ 'http://localhost:8081': 204 });
    const clock = manualClock();
    const lines: string[] = [];
    const checks = startHealthChecks(config.backends, { upstream: fake.upstream, log: (line) => lines.push(line), timers: clock.timers, random: () => 0.5 });
    await checks.probeAll();
    expect(backend.health.state).toBe('up');
    expect(fake.calls.at(-1)!.target).toBe('/status');
    fake.answers['http://localhost:8081'] = 302; // outside 200-299
    await clock.advance(2_499);
    expect(fake.calls).toHaveLength(1);
    await clock.advance(1); // 2 s interval + 0.5 of 1 s jitter
    expect(fake.calls).toHaveLength(2);
    expect(backend.health.state).toBe('up');
    await clock.advance(2_500);
    expect(backend.health.state).toBe('down');
    expect(lines.at(-1)).toContain('is DOWN: GET /status -> 302 (2 failed checks in a row)');
    fake.answers['http://localhost:8081'] = 200;
    await clock.advance(5_000);
    expect(backend.health.state).toBe('up');
    expect(lines.at(-1)).toContain('is UP: GET /status -> 200 (2 passed checks in a row)');
    checks.stop();
    expect(clock.pending()).toBe(0);
    const before = fake.calls.length;
    await clock.advance(60_000);
    expect(fake.calls).toHaveLength(before);
  });

  it('spreads probe times with the jitter', async () => {
    const config = loadConfig(TWO_ROUTES);
    const fake = fakeUpstream({});
    const clock = manualClock(0);
    const times: number[] = [];
    const upstream: Upstream = (request) => (times.push(clock.now()), fake.upstream(request));
    const checks = startHealthChecks(config.backends, { upstream, log: () => {}, timers: clock.timers, random: seededRandom(7) });
    await clock.advance(5_600);
    expect(times).toHaveLength(2);
    expect(times[0]).not.toBe(times[1]);
    for (const time of times) expect(time).toBeGreaterThanOrEqual(5_000);
    checks.stop();
  });

  it('sends no probes to a pool whose health_check is false, and logs its passive ejections', async () => {
    const config = loadConfig(`
paths:
  - path: /
    health_check: false
    passive_health: { failures: 1 }
    servers: [localhost:8081]
`);
    const fake = fakeUpstream({});
    const lines: string[] = [];
    const checks = startHealthChecks(config.backends, { upstream: fake.upstream, log: (line) => lines.push(line), timers: manualClock().timers });
    await checks.probeAll();
    expect(fake.calls).toHaveLength(0);
    config.backends[0].health.recordFailure('GET / -> cannot connect (ECONNREFUSED)');
    expect(lines).toEqual(['health: http://localhost:8081 ejected for 10s: GET / -> cannot connect (ECONNREFUSED) (1 failed request in a row)']);
    checks.stop();
  });
});

describe('health settings in the config', () => {
  it('refuses two routes that give one backend different health checks', () => {
    const text = `
hosts:
  - host: a.test
    health_check: { path: /ready }
    servers: [localhost:8081]
paths:
  - path: /a
    servers: [localhost:8081]
`;
    expect(() => loadConfig(text, 'lb.yaml')).toThrow(ConfigError);
    expect(() => loadConfig(text, 'lb.yaml')).toThrow(/lb\.yaml:8:15: paths\[0\]\.servers\[0\]: "localhost:8081" is also a server of hosts\[0\], with different health_check/);
  });

  it('lays a route section over the top-level one field by field', () => {
    const config = loadConfig(`
health_check: { interval: 10s }
paths:
  - path: /
    health_check: { path: /ready }
    servers: [localhost:8081]
`);
    expect(config.backends[0].health.active).toMatchObject({ path: '/ready', intervalMs: 10_000, timeoutMs: 1_000, jitterMs: 1_000 });
  });

  it('names a mistyped or bad health_check key at its own field, with a suggestion', () => {
    expect(() => loadConfig('paths: [{ path: /, servers: [localhost:1], health_check: { intervall: 2s } }]')).toThrow(
      'config:1:60: paths[0].health_check.intervall: unknown key "intervall"; did you mean "interval"?',
    );
    expect(() => loadConfig('paths: [{ path: /, servers: [localhost:1], passive_health: { cooldown: 10 } }]')).toThrow(
      'paths[0].passive_health.cooldown: expected a duration such as "5s" or "250ms"',
    );
    expect(() => loadConfig('retries: yes\npaths: [{ path: /, servers: [localhost:1] }]')).toThrow('retries: expected false, true, or { attempts');
  });
});
