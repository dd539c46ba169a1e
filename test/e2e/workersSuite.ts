import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { serveProcess, serveUntilExit, type ServeProcess, type ServeRuntime } from '../helpers/serveProcess.ts';
import { writeConfig } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { deadPort } from '../helpers/deadPort.ts';
import { waitFor } from '../helpers/waitFor.ts';

// `serve --workers 2`: node:cluster workers behind one primary. Which worker served a request is
// read from the access log, whose lines carry `"worker": N` in this mode.

interface Answer {
  readonly status: number;
  readonly servedBy: string | undefined;
}

/**
 * One request on a connection of its own, so the primary hands each to the next worker. Given up
 * after 15 s, naming the request: a case that hung on one said only "Test timed out".
 */
function get(url: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { headers: { connection: 'close' }, signal: AbortSignal.timeout(15_000) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, servedBy: res.headers['x-served-by'] as string | undefined }));
    });
    req.on('error', (error) => reject(new Error(`GET ${path}: ${error.message}`)));
    req.end();
  });
}

interface LogLine {
  readonly path: string;
  readonly worker: number;
  readonly backend: string;
  readonly attempts: number;
}

const accessLog = (served: ServeProcess): LogLine[] =>
  served
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

const readyPids = (served: ServeProcess): Map<number, number> =>
  new Map([...served.stderr().matchAll(/worker (\d+) \(pid (\d+)\) ready/g)].map((match) => [Number(match[1]), Number(match[2])]));

const metric = async (served: ServeProcess, series: string): Promise<number> => {
  const text = await (await fetch(`${served.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
};

const opened: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((each) => each.stop().catch(() => {})));
});

async function backend(name: string): Promise<TestBackend> {
  const started = await startTestBackend(name);
  opened.push({ stop: () => started.close() });
  return started;
}

async function serve(runtime: ServeRuntime, config: string, options: { env?: Record<string, string>; admin?: string[] } = {}): Promise<ServeProcess> {
  const served = await serveProcess(runtime, config, { args: ['--workers', '2', ...(options.admin ?? ['--admin', '0'])], admin: true, env: options.env });
  opened.push(served);
  // What the balancer said, when the case fails: a hang says nothing otherwise.
  onTestFailed(() => console.error(`--- the ${runtime} balancer's stderr ---\n${served.stderr()}`));
  // Ready is told on stdout; the pid lines on stderr, the primary's and each worker's, may come a
  // moment later (CI runs read a NaN pid, then a worker's pid not yet there).
  await waitFor(() => /\(pid \d+ is the primary\)/.test(served.stderr()) && readyPids(served).size === 2, 10_000, `the pid lines:\n${served.stderr()}`);
  return served;
}

/** The cases, for one runtime: a file per runtime (workers-node, workers-deno), so the two run side by side. */
export function workersSuite(runtime: ServeRuntime): void {
  describe(`serve --workers 2 on ${runtime}`, () => {
    it('serves requests from both workers and merges their metrics', async () => {
      const a = await backend('a');
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`);
      expect([...readyPids(served).keys()].sort()).toEqual([1, 2]);
      for (let i = 0; i < 20; i++) expect((await get(served.url, `/n${i}`)).status).toBe(200);
      await waitFor(() => accessLog(served).length === 20, 5000, '20 access log lines');
      const workers = accessLog(served).map((line) => line.worker);
      // Round-robin: each new connection goes to the next worker.
      expect(workers.filter((worker) => worker === 1).length).toBe(10);
      expect(workers.filter((worker) => worker === 2).length).toBe(10);
      expect(await metric(served, 'switchyard_requests_total{route="/",code="2xx"}')).toBe(20);
      expect(await metric(served, 'switchyard_backend_requests_total{route="/",backend="' + a.address + '",code="2xx"}')).toBe(20);
    }, 60_000);

    const health = 'health_check: { interval: 400ms, jitter: 10ms, unhealthy_threshold: 1 }\n';

    it('probes each backend once for the machine, and every worker avoids a backend the primary finds down', async () => {
      const [a, b] = [await backend('a'), await backend('b')];
      const served = await serve(runtime, `${health}paths:\n  - path: /\n    servers: [${a.address}, ${b.address}]\n`);
      const probes = () => b.seen.filter((seen) => seen.url === '/healthcheck').length;
      const before = probes();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      // One prober: about 2000 / 410 = 5 probes; one per worker as well would be 3 times as many.
      expect(probes() - before).toBeGreaterThanOrEqual(3);
      expect(probes() - before).toBeLessThanOrEqual(6);

      await b.close();
      await waitFor(() => served.stderr().includes(`health: http://${b.address} is DOWN`), 2000, 'the primary to find b down');
      const logged = accessLog(served).length;
      for (let i = 0; i < 10; i++) expect(await get(served.url, `/after${i}`)).toEqual({ status: 200, servedBy: 'a' });
      await waitFor(() => accessLog(served).length === logged + 10, 5000, '10 more access log lines');
      const after = accessLog(served).slice(logged);
      expect(new Set(after.map((line) => line.worker))).toEqual(new Set([1, 2]));
      // Not one try went to b: each worker knew before its first request.
      expect(after.every((line) => line.attempts === 1 && line.backend === a.address)).toBe(true);
      expect(await metric(served, `switchyard_backend_up{backend="${b.address}"}`)).toBe(0);
    }, 60_000);

    it('restarts a worker that is killed, and says so', async () => {
      const a = await backend('a');
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`);
      const killed = readyPids(served).get(2)!;
      process.kill(killed, 'SIGKILL');
      await waitFor(() => readyPids(served).get(2) !== killed, 10_000, 'worker 2 to be replaced');
      expect(served.stderr()).toContain(`switchyard: worker 2 (pid ${killed}) exited (SIGKILL); restarting it`);
      for (let i = 0; i < 6; i++) expect((await get(served.url, `/r${i}`)).status).toBe(200);
      await waitFor(() => accessLog(served).length === 6, 5000, '6 access log lines');
      expect(new Set(accessLog(served).map((line) => line.worker))).toEqual(new Set([1, 2]));
      expect(await metric(served, 'switchyard_worker_restarts_total')).toBe(1);
    }, 60_000);

    it('drains in-flight requests on every worker on SIGTERM to the primary, then exits 0', async () => {
      const a = await backend('a');
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`);
      const slow = Promise.all(Array.from({ length: 4 }, (_, i) => get(served.url, `/slow/1500?${i}`)));
      await new Promise((resolve) => setTimeout(resolve, 400));
      const exited = new Promise<number | null>((resolve) => served.child.once('exit', (code) => resolve(code)));
      served.child.kill('SIGTERM');
      const answers = await slow;
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      expect(await exited).toBe(0);
      // 'exit' may come before the last of stdout is read.
      await waitFor(() => accessLog(served).length === 4, 2000, 'the 4 access log lines');
      expect(new Set(accessLog(served).map((line) => line.worker))).toEqual(new Set([1, 2]));
    }, 60_000);

    /** Sends `count` requests, each on its own connection (so to alternate workers), and says who served them. */
    const servedBy = async (served: ServeProcess, count: number) => {
      const answers: Answer[] = [];
      for (let i = 0; i < count; i++) answers.push(await get(served.url, `/by${i}`));
      return answers.map((answer) => answer.servedBy);
    };

    it('reloads every worker on SIGHUP to the primary', async () => {
      const [a, b] = [await backend('a'), await backend('b')];
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`);
      await writeFile(served.file, `paths:\n  - path: /\n    servers: [${b.address}]\n`);
      served.hangUp();
      await waitFor(() => served.stderr().match(/config reloaded \(the primary\)/g)?.length === 2, 5000, 'both workers to reload');
      expect(served.stderr()).toMatch(/config reloaded \(SIGHUP\)/);
      expect(await servedBy(served, 6)).toEqual(['b', 'b', 'b', 'b', 'b', 'b']);
    }, 60_000);

    it('drains a backend on every worker when the admin API is told to', async () => {
      const [a, b] = [await backend('a'), await backend('b')];
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}, ${b.address}]\n`);
      // Both in use first: on a loaded machine a first probe may time out and keep one out a moment.
      await waitFor(async () => new Set(await servedBy(served, 8)).size === 2, 15_000, 'both backends to serve');
      expect((await fetch(`${served.adminUrl}/api/backends/${a.address}/drain`, { method: 'POST' })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await servedBy(served, 8)).toEqual(Array(8).fill('b'));
    }, 60_000);

    it('shares an ejection one worker decides with the others, through the primary', async () => {
      const a = await backend('a');
      const dead = `127.0.0.1:${await deadPort()}`;
      const served = await serve(runtime, `health_check: false\npassive_health: { failures: 3, cooldown: 30s }\npaths:\n  - path: /\n    servers: [${a.address}, ${dead}]\n`);
      for (let i = 0; i < 20 && !served.stderr().includes(`${dead} ejected`); i++) await get(served.url, `/warm${i}`);
      await waitFor(() => served.stderr().includes(`health: http://${dead} ejected for 30s`), 2000, 'an ejection');
      expect(await servedBy(served, 8)).toEqual(Array(8).fill('a'));
      await waitFor(() => accessLog(served).filter((line) => line.path.startsWith('/by')).length === 8, 5000, '8 more access log lines');
      const after = accessLog(served).filter((line) => line.path.startsWith('/by'));
      expect(new Set(after.map((line) => line.worker))).toEqual(new Set([1, 2]));
      expect(after.every((line) => line.attempts === 1 && line.backend === a.address)).toBe(true);
      // Decided once, by one worker: the other took it rather than failing three times itself.
      expect(served.stderr().match(/ejected for/g)).toHaveLength(1);
      expect(await metric(served, `switchyard_backend_ejections_total{backend="${dead}"}`)).toBe(1);
    }, 60_000);

    // Test only: each worker waits this long before it listens (see worker.ts), so what the primary
    // sends while a worker starts reaches it in that window.
    const slowStart = { SWITCHYARD_TEST_WORKER_LISTEN_DELAY_MS: '2500' };
    const primaryPid = (served: ServeProcess) => Number(/\(pid (\d+) is the primary\)/.exec(served.stderr())?.[1]);

    it('gives a worker that is starting the reload and the drain sent meanwhile', async () => {
      const [a, b, c] = [await backend('a'), await backend('b'), await backend('c')];
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`, { env: slowStart });
      const killed = readyPids(served).get(1)!;
      process.kill(killed, 'SIGKILL');
      await waitFor(() => served.stderr().includes(`worker 1 (pid ${killed}) exited`), 5000, 'worker 1 to exit');
      await new Promise((resolve) => setTimeout(resolve, 800));
      await writeFile(served.file, `paths:\n  - path: /\n    servers: [${b.address}, ${c.address}]\n`);
      served.hangUp();
      await waitFor(() => served.stderr().includes('config reloaded (SIGHUP)'), 5000, 'the primary to reload');
      expect((await fetch(`${served.adminUrl}/api/backends/${c.address}/drain`, { method: 'POST' })).status).toBe(200);
      await waitFor(() => readyPids(served).get(1) !== killed, 15_000, 'worker 1 to be replaced');
      expect(await servedBy(served, 8)).toEqual(Array(8).fill('b'));
    }, 90_000);

    it('stops at once on SIGTERM while a worker is starting', async () => {
      const a = await backend('a');
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`, { env: slowStart });
      const killed = readyPids(served).get(1)!;
      process.kill(killed, 'SIGKILL');
      await waitFor(() => served.stderr().includes(`worker 1 (pid ${killed}) exited`), 5000, 'worker 1 to exit');
      await new Promise((resolve) => setTimeout(resolve, 800));
      const exited = new Promise<number | null>((resolve) => served.child.once('exit', (code) => resolve(code)));
      const asked = Date.now();
      process.kill(primaryPid(served), 'SIGTERM');
      expect(await exited).toBe(0);
      // The restarted worker ends its start and stops, rather than serving until killed after the drain time (35 s).
      expect(Date.now() - asked, served.stderr()).toBeLessThan(10_000);
    }, 90_000);

    it('shows on /api/status the requests in flight on any worker', async () => {
      const a = await backend('a');
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`);
      const slow = get(served.url, '/slow/3000');
      const status = async () => ((await (await fetch(`${served.adminUrl}/api/status`)).json()) as { backends: { in_flight: number; requests_last_minute: number }[] }).backends[0];
      await waitFor(async () => (await status()).in_flight === 1, 2500, 'in_flight 1 on /api/status');
      expect((await slow).status).toBe(200);
      await waitFor(async () => (await status()).in_flight === 0, 2500, 'in_flight 0 on /api/status');
      expect((await status()).requests_last_minute).toBe(1);
    }, 60_000);

    it('refuses a reload that takes the token from an admin listener off loopback', async () => {
      const a = await backend('a');
      const config = (token: string) => `admin: { address: "0.0.0.0:0"${token} }\npaths:\n  - path: /\n    servers: [${a.address}]\n`;
      const served = await serve(runtime, config(', token: "s3cret-admin-token"'), { admin: [] });
      const port = new URL(served.adminUrl!).port;
      const statusCode = async () => (await fetch(`http://127.0.0.1:${port}/api/status`)).status;
      expect(await statusCode()).toBe(401);
      await writeFile(served.file, config(''));
      served.hangUp();
      await waitFor(() => served.stderr().includes('reload (SIGHUP) failed'), 5000, 'the reload to be refused');
      expect(served.stderr()).toContain('admin.token: the admin listener on 0.0.0.0:');
      expect(await statusCode()).toBe(401);
    }, 60_000);

    it('takes its workers down with it when the primary is killed', async () => {
      const a = await backend('a');
      const served = await serve(runtime, `paths:\n  - path: /\n    servers: [${a.address}]\n`);
      const pids = [...readyPids(served).values()];
      process.kill(primaryPid(served), 'SIGKILL');
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      await waitFor(() => !pids.some(alive), 5000, `the workers (pids ${pids.join(', ')}) to exit`);
    }, 60_000);

    it('fails to start, saying why, when a worker exits before it is ready', async () => {
      const a = await backend('a');
      const file = await writeConfig(`paths:\n  - path: /\n    servers: [${a.address}]\n`);
      const exit = serveUntilExit(runtime, { file }, { args: ['--workers', '2'], env: slowStart });
      let killed: number | undefined;
      await waitFor(async () => (killed = await workerOf(file, 1)) !== undefined, 20_000, 'worker 1 to start');
      process.kill(killed!, 'SIGKILL');
      const { code, stdout, stderr } = await exit;
      expect(code).toBe(1);
      expect(stdout).not.toContain('listening on');
      expect(stderr).toContain('worker 1 exited (SIGKILL) before it was ready');
    }, 60_000);
  });
}

/** The pid of worker `slot` of the `serve` of `file`, found in /proc by its command line and environment. */
async function workerOf(file: string, slot: number): Promise<number | undefined> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const [cmdline, environ] = await Promise.all([readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => ''), readFile(`/proc/${name}/environ`, 'utf8').catch(() => '')]);
    if (cmdline.includes(file) && environ.split('\0').includes(`SWITCHYARD_WORKER=${slot}`)) return Number(name);
  }
  return undefined;
}
