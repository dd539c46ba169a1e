import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../conformance/client.ts';
import { DENO_BINARY } from '../helpers/runtimes.ts';
import { CLI, PROJECT_ROOT, spawnUntilListening, writeConfig, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';

// `${env:NAME}` in the config file, filled from the process environment by `switchyard serve`
// and `check` on Node and by `deno task serve` (the Worker's bindings: workersEntry.test.ts).

const run = promisify(execFile);

const CONFIG = [
  'health_check: false',
  'paths:',
  '  - path: /',
  '    servers: ["${env:SWITCHYARD_TEST_BACKEND}"]',
  '    header_rules:',
  '      add: { X-Token: "${env:SWITCHYARD_TEST_TOKEN}", X-Region: "${env:SWITCHYARD_TEST_REGION:-eu} via ${host}" }',
  '',
].join('\n');

describe('${env:NAME} in the config file', () => {
  let backend: TestBackend;
  let config: string;
  const env = () => ({ ...process.env, SWITCHYARD_TEST_BACKEND: backend.address, SWITCHYARD_TEST_TOKEN: 'pa$$word' });

  beforeAll(async () => {
    backend = await startTestBackend('env');
    config = await writeConfig(CONFIG);
  });
  afterAll(() => backend?.close());

  const servers: [string, () => Promise<RunningBalancer>][] = [
    ['switchyard serve on Node', () => spawnUntilListening(process.execPath, [CLI, 'serve', '--config', config, '--port', '0'], { env: env() })],
    ['deno task serve', () => spawnUntilListening(DENO_BINARY, ['task', '-q', 'serve', '--config', config, '--port', '0'], { env: env(), cwd: PROJECT_ROOT, timeoutMs: 30_000 })],
  ];

  it.each(servers)('fills the backend and a header from the environment under %s', async (_, start) => {
    const balancer = await start();
    try {
      const reply = await send(balancer.url, '/hello', { headers: { host: 'a.example' } });
      expect(reply.status).toBe(200);
      const seen = backend.seen.at(-1)!;
      expect(seen.url).toBe('/hello');
      expect(seen.headers['x-token']).toBe('pa$$word');
      expect(seen.headers['x-region']).toBe('eu via a.example');
    } finally {
      await balancer.stop();
    }
  }, 40_000);

  it('names each unset variable and its place, in one run of switchyard check', async () => {
    const { SWITCHYARD_TEST_BACKEND: _, SWITCHYARD_TEST_TOKEN: __, ...bare } = process.env;
    const failure = await run(process.execPath, [CLI, 'check', '--config', config], { env: bare }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim().split('\n')).toEqual([
      `${config}:4:15: paths[0].servers[0]: \${env:SWITCHYARD_TEST_BACKEND} is not set`,
      `${config}:6:23: paths[0].header_rules.add.X-Token: \${env:SWITCHYARD_TEST_TOKEN} is not set`,
    ]);
  });
});
