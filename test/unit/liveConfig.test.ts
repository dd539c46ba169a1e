import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Upstream } from '../../src/core/Upstream.ts';
import { LiveConfig, type ReloadReport } from '../../src/server/LiveConfig.ts';

// Probes go to a fake upstream, and the probe interval is an hour, so no timer fires during a test.

const A = 'http://localhost:8081';
const B = 'http://localhost:8082';

const ONE_BACKEND = `
health_check: { interval: 1h }
hosts:
  - host: app.test
    servers: [localhost:8081]
`;

const TWO_BACKENDS = `
health_check: { interval: 1h }
hosts:
  - host: app.test
    servers: [localhost:8081, localhost:8082]
paths:
  - path: /b
    servers: [localhost:8082]
`;

/** Two errors: an algorithm that is none (line 5) and a port that is none (line 6). */
const INVALID = `
health_check: { interval: 1h }
hosts:
  - host: app.test
    algorithm: nope
    servers: [localhost:80x0]
`;

let dir: string;
let file: string;
let live: LiveConfig | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-live-'));
  file = join(dir, 'lb.yaml');
});

afterEach(async () => {
  live?.stop();
  live = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Answers each probe with the status set for its origin (200 unless set), or, for a held origin, once released; counts probes per origin. */
function fakeProbes(statuses: Record<string, number> = {}) {
  const probed: string[] = [];
  const holding = new Set<string>();
  const waiting = new Map<string, () => void>();
  const upstream: Upstream = async (request) => {
    probed.push(request.origin);
    if (holding.has(request.origin)) await new Promise<void>((resolve) => waiting.set(request.origin, resolve));
    return new Response(null, { status: statuses[request.origin] ?? 200 });
  };
  return {
    upstream,
    statuses,
    probed,
    count: (origin: string) => probed.filter((each) => each === origin).length,
    hold: (origin: string) => holding.add(origin),
    release: (origin: string) => waiting.get(origin)?.(),
  };
}

async function load(text: string, probes = fakeProbes()) {
  await writeFile(file, text);
  const lines: string[] = [];
  live = await LiveConfig.load(file, { log: (line) => lines.push(line), probes: probes.upstream });
  return { live, lines, probes };
}

describe('LiveConfig.load', () => {
  it('reads and compiles the file, and probes every backend once before resolving', async () => {
    const probes = fakeProbes({ [B]: 503 });
    const { live } = await load(TWO_BACKENDS, probes);
    expect(live.config.routesInOrder.map((route) => route.name)).toEqual(['app.test', '/b']);
    expect(probes.probed.sort()).toEqual([A, B]);
    const [a, b] = live.config.backends;
    expect(a.health.state).toBe('up');
    expect(b.health.state).toBe('down');
    expect(live.file).toBe(file);
    expect(live.source).toBe(file);
    expect(live.reloads).toEqual({ success: 0, failure: 0 });
    expect(live.lastReload).toBeUndefined();
  });

  it('rejects an invalid file with the ConfigError naming the place', async () => {
    await writeFile(file, INVALID);
    await expect(LiveConfig.load(file, { log: () => {}, probes: fakeProbes().upstream })).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:`));
  });
});

describe('LiveConfig.reload', () => {
  it('swaps a changed valid file in, counts the success and logs it', async () => {
    const { live, lines } = await load(ONE_BACKEND);
    const before = live.config;
    const loadedBefore = live.loadedAt;
    await writeFile(file, TWO_BACKENDS);
    const report = await live.reload('SIGHUP');
    expect(live.config).not.toBe(before);
    expect(live.config.routesInOrder.map((route) => route.name)).toEqual(['app.test', '/b']);
    expect(live.reloads).toEqual({ success: 1, failure: 0 });
    expect(report).toEqual({ at: live.loadedAt, result: 'success', errors: [] });
    expect(live.lastReload).toBe(report);
    expect(live.loadedAt).toBeGreaterThanOrEqual(loadedBefore);
    expect(lines).toEqual([`switchyard: config reloaded (SIGHUP) from ${file}: 2 routes, 2 backends (1 new, 0 gone)`]);
  });

  it('keeps the config object in use when the file is invalid, logs each error as FILE:LINE:COL and a failed line, and counts a failure', async () => {
    const { live, lines } = await load(ONE_BACKEND);
    const before = live.config;
    const loadedAt = live.loadedAt;
    await writeFile(file, INVALID);
    const report = (await live.reload('the admin API'))!;
    expect(live.config).toBe(before);
    expect(live.loadedAt).toBe(loadedAt);
    expect(live.reloads).toEqual({ success: 0, failure: 1 });
    expect(report.result).toBe('failure');
    expect(report.errors.length).toBeGreaterThanOrEqual(2);
    expect(report.errors[0]).toMatch(new RegExp(`^${escape(file)}:5:\\d+: hosts\\[0\\]\\.algorithm: `));
    expect(report.errors[1]).toMatch(new RegExp(`^${escape(file)}:6:\\d+: hosts\\[0\\]\\.servers\\[0\\]: `));
    for (const error of report.errors) expect(error).toMatch(new RegExp(`^${escape(file)}:\\d+:\\d+: `));
    expect(lines).toEqual([...report.errors, 'switchyard: reload (the admin API) failed: the config in use is kept']);
    expect(live.lastReload).toBe(report);
    expect(live.lastReload?.errors).toEqual(report.errors);
  });

  it('reloads again after a failure, once the file is fixed', async () => {
    const { live } = await load(ONE_BACKEND);
    await writeFile(file, INVALID);
    await live.reload('SIGHUP');
    await writeFile(file, TWO_BACKENDS);
    const report = await live.reload('SIGHUP');
    expect(report?.result).toBe('success');
    expect(live.reloads).toEqual({ success: 1, failure: 1 });
    expect(live.lastReload?.errors).toEqual([]);
    expect(live.config.backends).toHaveLength(2);
  });

  it('keeps the config in use when the file cannot be read, naming the file', async () => {
    const { live, lines } = await load(ONE_BACKEND);
    const before = live.config;
    await unlink(file);
    const report = (await live.reload('SIGHUP'))!;
    expect(live.config).toBe(before);
    expect(report.result).toBe('failure');
    expect(report.errors).toEqual([expect.stringMatching(new RegExp(`^${escape(file)}: .*ENOENT`))]);
    expect(lines.at(-1)).toBe('switchyard: reload (SIGHUP) failed: the config in use is kept');
    expect(live.reloads.failure).toBe(1);
  });

  it("carries a kept backend's health over: the same HealthState, so a backend down stays down and is not probed again", async () => {
    const probes = fakeProbes({ [A]: 503 });
    const { live } = await load(ONE_BACKEND, probes);
    const [oldA] = live.config.backends;
    expect(oldA.health.state).toBe('down');
    // Back up by now, were it probed again: it is not.
    probes.statuses[A] = 200;
    await writeFile(file, TWO_BACKENDS);
    await live.reload('SIGHUP');
    const newA = live.config.backends.find((backend) => backend.origin === A)!;
    expect(newA).not.toBe(oldA);
    expect(newA.health).toBe(oldA.health);
    expect(newA.health.state).toBe('down');
    expect(newA.isHealthy(Date.now())).toBe(false);
    expect(probes.count(A)).toBe(1);
  });

  it('probes a backend the new config adds before the swap, and resolves after it', async () => {
    const probes = fakeProbes({ [B]: 503 });
    const { live } = await load(ONE_BACKEND, probes);
    const before = live.config;
    probes.hold(B);
    await writeFile(file, TWO_BACKENDS);
    let done = false;
    const reloading = live.reload('SIGHUP').then(() => (done = true));
    await vi.waitFor(() => expect(probes.count(B)).toBe(1));
    // Its probe has not answered: the config in use is still the one before.
    expect(done).toBe(false);
    expect(live.config).toBe(before);
    probes.release(B);
    await reloading;
    const newB = live.config.backends.find((backend) => backend.origin === B)!;
    expect(live.config).not.toBe(before);
    expect(newB.health.state).toBe('down');
  });

  it("starts a kept backend's health afresh when its health_check settings change", async () => {
    const probes = fakeProbes({ [A]: 503 });
    const { live } = await load(ONE_BACKEND, probes);
    const [oldA] = live.config.backends;
    probes.statuses[A] = 200;
    await writeFile(file, ONE_BACKEND.replace('interval: 1h', 'interval: 2h'));
    await live.reload('SIGHUP');
    const [newA] = live.config.backends;
    expect(newA.health).not.toBe(oldA.health);
    expect(probes.count(A)).toBe(2);
    expect(newA.health.state).toBe('up');
  });

  it("shares a kept backend's in-flight count with the config before", async () => {
    const { live } = await load(ONE_BACKEND);
    const [oldA] = live.config.backends;
    oldA.inFlight = 2;
    await writeFile(file, TWO_BACKENDS);
    await live.reload('SIGHUP');
    const newA = live.config.backends.find((backend) => backend.origin === A)!;
    expect(newA.inFlight).toBe(2);
    // A request admitted before the swap finishes on the old backend object.
    oldA.inFlight--;
    expect(newA.inFlight).toBe(1);
  });

  it('drops drains and weights set at run time', async () => {
    const { live } = await load(ONE_BACKEND);
    const [oldA] = live.config.backends;
    oldA.draining = true;
    oldA.weight = 5;
    await live.reload('SIGHUP');
    const [newA] = live.config.backends;
    expect(newA.draining).toBe(false);
    expect(newA.weight).toBeUndefined();
  });

  it('does nothing and returns undefined when asked only if changed and the file is the same', async () => {
    const { live, lines } = await load(ONE_BACKEND);
    const before = live.config;
    const loadedAt = live.loadedAt;
    expect(await live.reload('a change to the file', true)).toBeUndefined();
    expect(live.config).toBe(before);
    expect(live.loadedAt).toBe(loadedAt);
    expect(live.reloads).toEqual({ success: 0, failure: 0 });
    expect(live.lastReload).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('reloads when asked only if changed and the file did change', async () => {
    const { live } = await load(ONE_BACKEND);
    await writeFile(file, TWO_BACKENDS);
    expect((await live.reload('a change to the file', true))?.result).toBe('success');
    // The new text is the one in use now.
    expect(await live.reload('a change to the file', true)).toBeUndefined();
    expect(live.reloads.success).toBe(1);
  });

  it('reloads the same file again when not asked only if changed', async () => {
    const { live } = await load(ONE_BACKEND);
    const before = live.config;
    expect((await live.reload('SIGHUP'))?.result).toBe('success');
    expect(live.config).not.toBe(before);
  });

  it('runs reloads one at a time, in the order asked', async () => {
    const { live } = await load(ONE_BACKEND);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let steps = 0;
    live.onReload(async () => {
      steps++;
      if (steps === 1) await gate;
    });
    const finished: string[] = [];
    const first = live.reload('first').then(() => finished.push('first'));
    const second = live.reload('second').then(() => finished.push('second'));
    await vi.waitFor(() => expect(steps).toBe(1));
    // Time for the second to read the file and reach its step, were it not waiting for the first.
    for (let i = 0; i < 3; i++) {
      await readFile(file, 'utf8');
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The second has not even started while the first waits.
    expect(steps).toBe(1);
    expect(finished).toEqual([]);
    release();
    await Promise.all([first, second]);
    expect(finished).toEqual(['first', 'second']);
    expect(steps).toBe(2);
    expect(live.reloads.success).toBe(2);
  });

  it('goes on with the next reload after one fails', async () => {
    const { live } = await load(ONE_BACKEND);
    await writeFile(file, INVALID);
    const failing = live.reload('first');
    const results = await Promise.all([failing, live.reload('second')]);
    expect(results.map((report) => report?.result)).toEqual(['failure', 'failure']);
    expect(live.reloads.failure).toBe(2);
  });

  it('refuses the reload when a ReloadStep throws: the config is kept and the failure counted and logged', async () => {
    const { live, lines } = await load(ONE_BACKEND);
    const before = live.config;
    live.onReload(() => {
      throw new Error('cannot move the admin listener to 192.0.2.1:9901');
    });
    await writeFile(file, TWO_BACKENDS);
    const report = (await live.reload('SIGHUP'))!;
    expect(live.config).toBe(before);
    expect(report).toMatchObject({ result: 'failure', errors: [`${file}: cannot move the admin listener to 192.0.2.1:9901`] });
    expect(live.reloads).toEqual({ success: 0, failure: 1 });
    expect(lines).toEqual([`${file}: cannot move the admin listener to 192.0.2.1:9901`, 'switchyard: reload (SIGHUP) failed: the config in use is kept']);
  });

  it("commits what each step prepared only once every step agreed, with the swap; a refusal aborts what earlier steps prepared", async () => {
    const { live } = await load(ONE_BACKEND);
    const events: string[] = [];
    let refuse = true;
    live.onReload(() => ({ commit: () => void events.push(`commit certificates (${live.config.backends.length} in use)`), abort: () => void events.push('abort certificates') }));
    live.onReload(() => {
      if (refuse) throw new Error('admin.address: cannot move the admin listener');
      return { commit: () => void events.push('commit admin') };
    });
    await writeFile(file, TWO_BACKENDS);
    expect((await live.reload('SIGHUP'))?.result).toBe('failure');
    expect(events).toEqual(['abort certificates']);
    refuse = false;
    expect((await live.reload('SIGHUP'))?.result).toBe('success');
    expect(events).toEqual(['abort certificates', 'commit certificates (1 in use)', 'commit admin']);
    expect(live.config.backends).toHaveLength(2);
  });

  it('refuses the reload when an async ReloadStep rejects', async () => {
    const { live } = await load(ONE_BACKEND);
    const before = live.config;
    live.onReload(async () => Promise.reject(new Error('address in use')));
    await writeFile(file, TWO_BACKENDS);
    expect((await live.reload('SIGHUP'))?.result).toBe('failure');
    expect(live.config).toBe(before);
  });

  it('hands each ReloadStep the new config and the one in use, before the swap', async () => {
    const { live } = await load(ONE_BACKEND);
    const before = live.config;
    const seen: unknown[] = [];
    live.onReload((next, previous) => void seen.push(next, previous, live.config));
    await writeFile(file, TWO_BACKENDS);
    await live.reload('SIGHUP');
    expect(seen[0]).toBe(live.config);
    expect(seen[1]).toBe(before);
    expect(seen[2]).toBe(before);
  });

  it('does not probe anything for a reload that fails', async () => {
    const probes = fakeProbes();
    const { live } = await load(ONE_BACKEND, probes);
    await writeFile(file, TWO_BACKENDS);
    live.onReload(() => {
      throw new Error('no');
    });
    const report: ReloadReport | undefined = await live.reload('SIGHUP');
    expect(report?.result).toBe('failure');
    expect(probes.probed).toEqual([A]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
