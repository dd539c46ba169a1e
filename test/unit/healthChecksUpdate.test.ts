import { afterEach, describe, expect, it } from 'vitest';
import type { CheckedBackend } from '../../src/core/health/CheckedBackend.ts';
import { HealthState } from '../../src/core/health/HealthState.ts';
import { DEFAULT_ACTIVE_CHECK, DEFAULT_PASSIVE_HEALTH } from '../../src/core/health/HealthSettings.ts';
import { startHealthChecks, type HealthChecks } from '../../src/core/health/startHealthChecks.ts';
import type { Upstream } from '../../src/core/Upstream.ts';
import { manualClock } from '../helpers/manualClock.ts';

const INTERVAL = 5_000;

/** Checked every 5 s without jitter; one probe decides. */
function checkedHealth(): HealthState {
  return new HealthState({ active: { ...DEFAULT_ACTIVE_CHECK, intervalMs: INTERVAL, jitterMs: 0, healthyThreshold: 1, unhealthyThreshold: 1 } });
}

function backend(port: number, health = checkedHealth()): CheckedBackend {
  return { id: `http://127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, basePath: '', health };
}

/** The same backend as a reloaded config builds it: a new object that took over the health (`Backend.adopt`). */
function adopted(previous: CheckedBackend): CheckedBackend {
  return { ...previous };
}

/** Answers 200 at once, or, for an origin in `held`, when the test releases it; records each probe and when it was sent. */
function fakeUpstream(clock: { now(): number }) {
  const calls: { origin: string; at: number }[] = [];
  const held = new Map<string, () => void>();
  const holding = new Set<string>();
  const upstream: Upstream = async (request) => {
    calls.push({ origin: request.origin, at: clock.now() });
    if (holding.has(request.origin)) await new Promise<void>((resolve) => held.set(request.origin, resolve));
    return new Response(null, { status: 200 });
  };
  const to = (origin: string) => calls.filter((call) => call.origin === origin);
  return { upstream, calls, to, hold: (origin: string) => holding.add(origin), release: (origin: string) => held.get(origin)?.() };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

let running: HealthChecks | undefined;
afterEach(() => running?.stop());

function start(backends: CheckedBackend[]) {
  const clock = manualClock(0);
  const fake = fakeUpstream(clock);
  const lines: string[] = [];
  running = startHealthChecks(backends, { upstream: fake.upstream, log: (line) => lines.push(line), timers: clock.timers, random: () => 0 });
  return { clock, fake, lines, checks: running };
}

describe('startHealthChecks: update() after a reload', () => {
  it('keeps the prober of a backend whose health was taken over: no extra probe, and its timer runs on unrestarted', async () => {
    const a = backend(8081);
    const b = backend(8082);
    const { clock, fake, checks } = start([a, b]);
    expect(clock.pending()).toBe(2);
    await clock.advance(3_000);
    await checks.update([adopted(a), adopted(b)]);
    expect(fake.calls).toHaveLength(0);
    expect(clock.pending()).toBe(2);
    // Due 5 s after start, as before the reload; a restarted timer would wait until 8 s.
    await clock.advance(2_000);
    expect(fake.calls.map((call) => call.at)).toEqual([INTERVAL, INTERVAL]);
    await clock.advance(3_000);
    expect(fake.calls).toHaveLength(2);
    await clock.advance(2_000);
    expect(fake.calls).toHaveLength(4);
  });

  it('stops the prober of a removed backend: its timer is cleared and it is probed no more', async () => {
    const a = backend(8081);
    const b = backend(8082);
    const { clock, fake, checks } = start([a, b]);
    await checks.update([adopted(a)]);
    expect(clock.pending()).toBe(1);
    await clock.advance(INTERVAL * 4);
    expect(fake.to(b.origin)).toHaveLength(0);
    expect(fake.to(a.origin)).toHaveLength(4);
  });

  it('no longer logs the health changes of a removed backend, and still logs those of a kept one', async () => {
    const a = backend(8081);
    const b = backend(8082);
    const { lines, checks } = start([a, b]);
    b.health.recordProbe(false, 'GET /healthcheck -> 500');
    expect(lines).toHaveLength(1);
    await checks.update([adopted(a)]);
    b.health.recordProbe(true, 'GET /healthcheck -> 200');
    b.health.recordProbe(false, 'GET /healthcheck -> 500');
    expect(lines).toHaveLength(1);
    a.health.recordProbe(false, 'GET /healthcheck -> 503');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('health: http://127.0.0.1:8081 is DOWN: GET /healthcheck -> 503');
  });

  it('probes a new backend before update() resolves, and then schedules it every interval', async () => {
    const a = backend(8081);
    const c = backend(8083);
    const { clock, fake, checks } = start([a]);
    await clock.advance(1_000);
    fake.hold(c.origin);
    let resolved = false;
    const updating = checks.update([adopted(a), c]).then(() => (resolved = true));
    await settle();
    expect(fake.to(c.origin)).toHaveLength(1);
    expect(resolved).toBe(false);
    expect(c.health.state).toBe('unknown');
    fake.release(c.origin);
    await updating;
    expect(c.health.state).toBe('up');
    // The kept backend was not probed for the update.
    expect(fake.to(a.origin)).toHaveLength(0);
    // Scheduled one interval after it was added (1 s), while the kept one stays on its own time.
    await clock.advance(4_000);
    expect(fake.to(a.origin).map((call) => call.at)).toEqual([5_000]);
    expect(fake.to(c.origin)).toHaveLength(1);
    await clock.advance(1_000);
    expect(fake.to(c.origin).map((call) => call.at)).toEqual([1_000, 6_000]);
  });

  it("logs a new backend's health changes", async () => {
    const a = backend(8081);
    const c = backend(8083);
    const { lines, checks } = start([a]);
    await checks.update([adopted(a), c]);
    c.health.recordProbe(false, 'GET /healthcheck -> 502');
    expect(lines).toEqual([expect.stringContaining('health: http://127.0.0.1:8083 is DOWN: GET /healthcheck -> 502')]);
  });

  it('does not probe a new backend without active checks, and logs its ejections', async () => {
    const a = backend(8081);
    const passiveOnly = backend(8084, new HealthState({ passive: { ...DEFAULT_PASSIVE_HEALTH, failures: 1 } }));
    const { clock, fake, lines, checks } = start([a]);
    await checks.update([adopted(a), passiveOnly]);
    expect(fake.to(passiveOnly.origin)).toHaveLength(0);
    expect(clock.pending()).toBe(1);
    passiveOnly.health.recordFailure('GET / -> 502');
    expect(lines).toEqual([expect.stringContaining('health: http://127.0.0.1:8084 ejected for')]);
  });

  it('treats a backend checked differently (a new HealthState) as removed and added: the old prober stops, the new one probes at once', async () => {
    const a = backend(8081);
    const { clock, fake, lines, checks } = start([a]);
    await clock.advance(2_000);
    const rechecked: CheckedBackend = { ...a, health: checkedHealth() };
    await checks.update([rechecked]);
    expect(fake.to(a.origin).map((call) => call.at)).toEqual([2_000]);
    expect(rechecked.health.state).toBe('up');
    expect(clock.pending()).toBe(1);
    a.health.recordProbe(false, 'GET /healthcheck -> 500');
    expect(lines).toHaveLength(0);
    // Only the new prober's timer remains: 5 s after the update, not 5 s after start.
    await clock.advance(3_000);
    expect(fake.to(a.origin)).toHaveLength(1);
    await clock.advance(2_000);
    expect(fake.to(a.origin).map((call) => call.at)).toEqual([2_000, 7_000]);
  });

  it('probes a kept backend in the next probeAll() and leaves none behind at stop()', async () => {
    const a = backend(8081);
    const c = backend(8083);
    const { clock, fake, checks } = start([a]);
    await checks.update([adopted(a), c]);
    await checks.probeAll();
    expect(fake.to(a.origin)).toHaveLength(1);
    expect(fake.to(c.origin)).toHaveLength(2);
    checks.stop();
    expect(clock.pending()).toBe(0);
  });
});
