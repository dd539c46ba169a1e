import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENO_BINARY } from '../helpers/runtimes.ts';
import { CLI, spawnUntilListening, writeConfig, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor, within } from '../helpers/waitFor.ts';

// Issue 13, point 6, the acceptance test of hot reload: under load a reload loses nothing. wrk
// drives the balancer at full speed while the config is reloaded 21 times (20 valid, alternating
// two configs that route to different backends with different algorithms and header rules, and
// one invalid), by SIGHUP after rewriting the file and by POST /api/reload. Not one response may
// be outside 2xx/3xx and not one socket may fail. On Node (`switchyard serve` from the build: run
// `npm run build` first) and on Deno (`deno run ... src/deno.ts`, the process itself, so the
// SIGHUP reaches it and not `deno task`). wrk comes from Debian's `wrk` package (.ci/run).

const WRK = '/usr/bin/wrk';
const WRK_SECONDS = 10;
// Reloads begin FIRST_RELOAD_MS after wrk starts, so every one of them happens under full load;
// the 21 of them, RELOAD_EVERY_MS apart, end about 7 s in, leaving room for a slow machine.
const FIRST_RELOAD_MS = 700;
/** One reload every this many ms (or as soon as the one before has finished, if it took longer). */
const RELOAD_EVERY_MS = 300;
const VALID_RELOADS = 20;
/** Which of the reloads is the invalid one (0-based, in the middle of the run). */
const INVALID_AT = 10;

let backends: TestBackend[] = [];
/** Per backend name, requests seen per `X-Config` value (health probes left out). */
const tally = new Map<string, Map<string, number>>();
let tallying: ReturnType<typeof setInterval> | undefined;
const started: (RunningBalancer | ChildProcess)[] = [];

/** Moves what the backends saw into `tally`, so their `seen` lists do not grow for the whole run. */
function collectTally(): void {
  for (const backend of backends) {
    const counts = tally.get(backend.name) ?? new Map<string, number>();
    tally.set(backend.name, counts);
    for (const seen of backend.seen.splice(0)) {
      if (seen.url === '/healthcheck') continue;
      const config = String(seen.headers['x-config'] ?? '(none)');
      counts.set(config, (counts.get(config) ?? 0) + 1);
    }
  }
}

beforeAll(async () => {
  backends = await Promise.all(['b1', 'b2', 'b3'].map((name) => startTestBackend(name)));
  tallying = setInterval(collectTally, 200);
});

afterAll(async () => {
  clearInterval(tallying);
  for (const each of started.splice(0)) {
    if ('stop' in each) await each.stop('SIGKILL');
    else if (each.exitCode === null && each.signalCode === null) each.kill('SIGKILL');
  }
  await Promise.all(backends.map((backend) => backend.close()));
});

/** Config A: backends 1 and 2, round robin, `X-Config: a` on the way up. */
function configA(): string {
  const [b1, b2] = backends;
  return `paths:\n  - path: /\n    algorithm: round_robin\n    header_rules:\n      add: { X-Config: a }\n    servers: [${b1.address}, ${b2.address}]\n`;
}

/** Config B: backends 2 and 3, least connections, `X-Config: b`. */
function configB(): string {
  const [, b2, b3] = backends;
  return `paths:\n  - path: /\n    algorithm: least_connections\n    header_rules:\n      add: { X-Config: b }\n    servers: [${b2.address}, ${b3.address}]\n`;
}

/** Invalid at line 6, column 15: the port of the second server. */
const INVALID = `paths:\n  - path: /\n    algorithm: round_robin\n    header_rules:\n      add: { X-Config: bad }\n    servers: [127.0.0.1:80x0]\n`;

/** Replaces the config file in one step, as an editor or a deploy tool that renames would. */
async function replaceConfig(file: string, text: string): Promise<void> {
  await writeFile(`${file}.next`, text);
  await rename(`${file}.next`, file);
}

interface Balancer {
  readonly url: string;
  readonly adminUrl: string;
  readonly running: RunningBalancer;
}

async function startOn(runtime: 'node' | 'deno', file: string): Promise<Balancer> {
  const flags = ['--config', file, '--port', '0', '--hostname', '127.0.0.1', '--access-log', 'off', '--admin', '127.0.0.1:0'];
  const running =
    runtime === 'node'
      ? await spawnUntilListening(process.execPath, [CLI, 'serve', ...flags])
      : await spawnUntilListening(DENO_BINARY, ['run', '--allow-net', '--allow-read', '--allow-env', 'src/deno.ts', ...flags], { env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 30_000 });
  started.push(running);
  const admin = /admin listening on (http:\/\/\S+)/;
  await waitFor(() => admin.test(running.output()), 10_000, `an "admin listening on" line in:\n${running.output()}`);
  return { url: running.url, adminUrl: admin.exec(running.output())![1], running };
}

interface WrkResult {
  readonly text: string;
  readonly requests: number;
  /** "Non-2xx or 3xx responses", 0 when wrk printed no such line. */
  readonly non2xx: number;
  /** The sum of "Socket errors: connect, read, write, timeout", 0 when wrk printed no such line. */
  readonly socketErrors: number;
}

function parseWrk(text: string): WrkResult {
  const requests = /(\d+) requests in /.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    text,
    requests: requests ? Number(requests[1]) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/** Runs wrk against `url`; `finished` resolves with its parsed report once it exits. */
function runWrk(url: string): { finished: Promise<WrkResult>; running: () => boolean } {
  const wrk = spawn(WRK, ['-t2', '-c32', `-d${WRK_SECONDS}s`, '--timeout', '5s', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(wrk);
  let out = '';
  wrk.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  wrk.stderr.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  let exited = false;
  const finished = new Promise<WrkResult>((resolve, reject) => {
    wrk.once('error', reject);
    wrk.once('exit', (code) => {
      exited = true;
      if (code === 0) resolve(parseWrk(out));
      else reject(new Error(`wrk exited with ${code}:\n${out}`));
    });
  });
  return { finished, running: () => !exited };
}

/** How many reloads the balancer has logged as done, by outcome. */
function loggedReloads(output: string): { success: number; failure: number } {
  return { success: output.match(/switchyard: config reloaded \(/g)?.length ?? 0, failure: output.match(/switchyard: reload \(.*\) failed/g)?.length ?? 0 };
}

/**
 * Asks for reload `index`: every third through the admin API (waiting for its answer), the others
 * by SIGHUP (waiting for the log line that says it is done), so that each reload reads the file
 * written for it.
 */
async function reload(balancer: Balancer, index: number, valid: boolean): Promise<'SIGHUP' | 'the admin API'> {
  if (index % 3 === 2) {
    const response = await fetch(`${balancer.adminUrl}/api/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { result: string; errors: string[] };
    expect({ status: response.status, result: body.result }).toEqual(valid ? { status: 200, result: 'success' } : { status: 422, result: 'failure' });
    return 'the admin API';
  }
  const before = loggedReloads(balancer.running.output());
  balancer.running.process.kill('SIGHUP');
  await waitFor(
    () => {
      const now = loggedReloads(balancer.running.output());
      return now.success + now.failure > before.success + before.failure;
    },
    10_000,
    `reload ${index} (SIGHUP) to be logged`,
  );
  return 'SIGHUP';
}

async function metricValue(adminUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in /metrics:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe.each(['node', 'deno'] as const)('hot reload under load on %s', (runtime) => {
  let file: string;
  let balancer: Balancer;

  beforeAll(async () => {
    if (!existsSync(WRK)) throw new Error(`${WRK} is missing: .ci/run installs Debian's wrk package`);
    file = await writeConfig(configA());
    balancer = await startOn(runtime, file);
    // Every backend answers before the load starts: its first probes passed.
    for (let i = 0; i < 4; i++) expect((await fetch(`${balancer.url}/warm-${i}`)).status).toBe(200);
  }, 40_000);

  afterAll(async () => {
    await balancer?.running.stop('SIGTERM');
  }, 20_000);

  it('loses no request and no connection through 20 reloads and an invalid one', async () => {
    collectTally();
    tally.clear();
    const wrk = runWrk(`${balancer.url}/load`);
    await new Promise((resolve) => setTimeout(resolve, FIRST_RELOAD_MS));

    const how: string[] = [];
    let valid = 0;
    for (let index = 0; index <= VALID_RELOADS; index++) {
      const began = Date.now();
      const isValid = index !== INVALID_AT;
      // Started on A: the valid reloads go to B, A, B, ... and the last (the 20th) leaves A in use.
      await replaceConfig(file, !isValid ? INVALID : valid % 2 === 0 ? configB() : configA());
      how.push(await reload(balancer, index, isValid));
      if (isValid) valid++;
      // Every reload, the last included, happened while wrk was still at full speed.
      expect(wrk.running(), `wrk had finished before reload ${index} was done`).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, RELOAD_EVERY_MS - (Date.now() - began))));
    }
    const result = await within(wrk.finished, 'wrk to finish', (WRK_SECONDS + 10) * 1000);
    collectTally();

    // What wrk saw: nothing lost. wrk prints these lines only when they are not zero.
    expect(result.non2xx, result.text).toBe(0);
    expect(result.socketErrors, result.text).toBe(0);
    expect(result.text).not.toMatch(/Non-2xx or 3xx responses|Socket errors/);
    expect(result.requests, result.text).toBeGreaterThan(2_000);

    // The reloads happened: 20 swaps and one refusal, by both triggers, logged and counted.
    const output = balancer.running.output();
    expect(loggedReloads(output)).toEqual({ success: VALID_RELOADS, failure: 1 });
    expect(how.filter((each) => each === 'SIGHUP').length).toBeGreaterThan(10);
    expect(output).toContain('config reloaded (the admin API)');
    expect(output).toContain('config reloaded (SIGHUP)');
    expect(output).toContain(`${file}:6:15: paths[0].servers[0]: "127.0.0.1:80x0" is not host:port or an http(s) URL`);
    expect(await metricValue(balancer.adminUrl, 'switchyard_config_reloads_total{result="success"}')).toBe(VALID_RELOADS);
    expect(await metricValue(balancer.adminUrl, 'switchyard_config_reloads_total{result="failure"}')).toBe(1);
    expect(await metricValue(balancer.adminUrl, 'switchyard_requests_total{route="/",code="5xx"}')).toBe(0);

    // The swaps were real: traffic reached the backends of both configs, and each request went
    // where the config it was admitted under sends it, with that config's header rule, never a
    // mix (backend 1 is only in A, backend 3 only in B; the invalid config never served).
    const seen = (name: string) => Object.fromEntries(tally.get(name) ?? []);
    const [b1, b2, b3] = ['b1', 'b2', 'b3'].map(seen);
    expect(Object.keys(b1)).toEqual(['a']);
    expect(Object.keys(b3)).toEqual(['b']);
    expect(Object.keys(b2).sort()).toEqual(['a', 'b']);
    for (const counts of [b1, b2, b3]) for (const count of Object.values(counts)) expect(count).toBeGreaterThan(50);

    // And it still serves, on config A.
    const after = await fetch(`${balancer.url}/after`);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { headers: Record<string, string> }).headers['x-config']).toBe('a');
  }, 40_000);
});
