import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PROJECT_ROOT, spawnUntilListening, startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// How supervisors stop and reload the balancer: systemd, a container runtime or a shell sends
// SIGTERM to the process it started, which is npm when the command is `npx switchyard serve` or
// `npm start`; systemd's reload and logrotate send SIGHUP.

/** Whether something accepts connections at `url`. */
function accepting(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });
}

let backend: TestBackend;
let project: string;

beforeAll(async () => {
  backend = await startTestBackend('signals');
  // A user's project with Switchyard installed, as `npm install switchyard` lays it out.
  project = await mkdtemp(join(tmpdir(), 'switchyard-user-'));
  await mkdir(join(project, 'node_modules/.bin'), { recursive: true });
  await symlink(PROJECT_ROOT, join(project, 'node_modules/switchyard'));
  await symlink(CLI, join(project, 'node_modules/.bin/switchyard'));
  await writeFile(join(project, 'lb.yaml'), `paths:\n  - path: /\n    servers: [${backend.address}]\n`);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'user-project', private: true, scripts: { start: 'switchyard serve --config lb.yaml --port 0' } }),
  );
});

afterAll(async () => {
  await backend?.close();
});

describe.each([
  ['npx switchyard serve', 'npx', ['switchyard', 'serve', '--config', 'lb.yaml', '--port', '0']],
  ['npm start', 'npm', ['start']],
])('SIGTERM to `%s`', (_, command, args) => {
  it('stops the server, though npm does not pass the signal on', async () => {
    const npm = await spawnUntilListening(command, args, { cwd: project, timeoutMs: 30_000 });
    const url = npm.url;
    expect(await accepting(url)).toBe(true);
    await npm.stop('SIGTERM');
    await waitFor(async () => !(await accepting(url)), 5000, 'the server to stop listening');
  }, 40_000);
});

describe('SIGHUP', () => {
  let balancer: RunningBalancer;
  beforeAll(async () => (balancer = await startBalancer(`paths:\n  - path: /\n    servers: [${backend.address}]\n`)));
  afterAll(async () => void (await balancer?.stop()));

  it('keeps serving with the config in use, and says so', async () => {
    balancer.process.kill('SIGHUP');
    await waitFor(() => balancer.output().includes('SIGHUP'), 3000, 'a log line about SIGHUP');
    expect(balancer.process.exitCode).toBeNull();
    expect((await fetch(`${balancer.url}/after-hup`)).status).toBe(200);
  });
});

describe('signals during the drain', () => {
  it('finishes an in-flight request through a repeated stop signal and a SIGHUP, then exits 0', async () => {
    const balancer = await startBalancer(`paths:\n  - path: /\n    servers: [${backend.address}]\n`);
    const reply = fetch(`${balancer.url}/slow/1500`).then(async (response) => [response.status, await response.text()] as const);
    await waitFor(() => backend.seen.some((seen) => seen.url === '/slow/1500'), 3000, 'the request to reach the backend');
    // Ctrl-C under `deno task` reaches the server twice; a reload may come during the drain.
    balancer.process.kill('SIGTERM');
    balancer.process.kill('SIGINT');
    balancer.process.kill('SIGHUP');
    const [status] = await reply;
    expect(status).toBe(200);
    const { process: child } = balancer;
    const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', resolve)));
    expect(balancer.output()).not.toMatch(/error/i);
    expect(code).toBe(0);
  });
});

describe('a connection that never sent a byte', () => {
  it('does not hold the stop for client_header (a browser preconnect)', async () => {
    const balancer = await startBalancer(`paths:\n  - path: /\n    servers: [${backend.address}]\n`);
    const { hostname, port } = new URL(balancer.url);
    const quiet = connect(Number(port), hostname);
    quiet.on('error', () => {});
    await new Promise((resolve) => quiet.once('connect', resolve));
    const started = Date.now();
    const { process: child } = balancer;
    child.kill('SIGTERM');
    const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', resolve)));
    quiet.destroy();
    expect(code).toBe(0);
    // client_header is 10 s by default; the sweep closes an unused connection at once.
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
