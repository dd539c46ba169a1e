import { describe, expect, it } from 'vitest';
import { HealthState, type HealthEvent } from '../../src/core/health/HealthState.ts';
import { DEFAULT_ACTIVE_CHECK, DEFAULT_PASSIVE_HEALTH } from '../../src/core/health/HealthSettings.ts';
import { workerCount } from '../../src/cli/workers/workerCount.ts';

// What a `--workers` worker takes from the primary: verdicts and ejections reached elsewhere.

describe('HealthState: verdicts and ejections decided elsewhere', () => {
  const state = (now = () => 1000) => new HealthState({ active: { ...DEFAULT_ACTIVE_CHECK, unhealthyThreshold: 3 }, passive: { ...DEFAULT_PASSIVE_HEALTH, failures: 3, cooldownMs: 500 }, now });

  it('takes a verdict at once, with no threshold, and tells subscribers it was adopted', () => {
    const health = state();
    const events: HealthEvent[] = [];
    health.subscribe((event) => events.push(event));
    health.adoptVerdict('up', 'GET /healthcheck -> 200');
    health.adoptVerdict('down', 'GET /healthcheck -> cannot connect');
    expect(health.state).toBe('down');
    expect(health.isUp).toBe(false);
    expect(events).toEqual([
      { kind: 'up', reason: 'GET /healthcheck -> 200', streak: 0, first: true, adopted: true },
      { kind: 'down', reason: 'GET /healthcheck -> cannot connect', streak: 0, first: false, adopted: true },
    ]);
  });

  it('says nothing when the verdict is the one it holds', () => {
    const health = state();
    health.adoptVerdict('up', 'ok');
    const events: HealthEvent[] = [];
    health.subscribe((event) => events.push(event));
    health.adoptVerdict('up', 'ok');
    expect(events).toEqual([]);
  });

  it('keeps a backend out until the adopted ejection ends, then on probation: one failure ejects it again', () => {
    let now = 1000;
    const health = state(() => now);
    health.adoptEjection(1500, 500, 1, 'GET / -> cannot connect', 3);
    expect(health.isEjected(1499)).toBe(true);
    expect(health.isEjected(1500)).toBe(false);
    now = 1600;
    health.recordFailure('GET / -> 502');
    expect(health.isEjected(1600)).toBe(true);
  });

  it('ignores an ejection that ends no later than the one in force, or is over already', () => {
    const health = state();
    const events: HealthEvent[] = [];
    health.subscribe((event) => events.push(event));
    health.adoptEjection(2000, 1000, 1, 'first', 3);
    health.adoptEjection(1800, 800, 1, 'echo', 3);
    health.adoptEjection(900, 800, 1, 'over', 3);
    expect(health.ejectedUntil).toBe(2000);
    expect(events).toEqual([{ kind: 'ejected', reason: 'first', streak: 3, cooldownMs: 1000, adopted: true }]);
  });

  it('doubles the cool-down across two workers that take turns seeing the failures, as one process would', () => {
    let now = 10_000;
    const settings = { passive: { ...DEFAULT_PASSIVE_HEALTH, failures: 1, cooldownMs: 1000, maxCooldownMs: 60_000 }, now: () => now };
    const workers = [new HealthState(settings), new HealthState(settings)];
    const cooldowns: number[] = [];
    for (let round = 0; round < 4; round++) {
      const seeing = workers[round % 2];
      const other = workers[(round + 1) % 2];
      seeing.recordFailure('GET / -> 502');
      cooldowns.push(seeing.cooldownMs);
      // The primary passes the ejection on: what the other worker takes, as backendView sends it.
      other.adoptEjection(seeing.ejectedUntil, seeing.cooldownMs, seeing.ejections, 'ejected by another worker');
      now = seeing.ejectedUntil + 1;
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 8000]);
  });
});

describe('workerCount (--workers)', () => {
  it('reads a number of workers, or auto for one per CPU', () => {
    expect(workerCount('2')).toBe(2);
    expect(workerCount('auto', () => 8)).toBe(8);
  });

  it('refuses what is not a count from 1 to 256', () => {
    for (const text of ['0', '257', '-1', '1.5', 'two', '', 'AUTO']) expect(workerCount(text)).toBeUndefined();
  });
});
