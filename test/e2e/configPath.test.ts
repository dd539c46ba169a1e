import { execFile } from 'node:child_process';
import { mkdtemp, realpath, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENO_BINARY } from '../helpers/runtimes.ts';
import { CLI, PROJECT_ROOT, spawnUntilListening } from '../helpers/startBalancer.ts';

// A relative --config is the caller's, on Node and under `deno task` (which runs in the folder of
// deno.json), and a file that is not there is named by its absolute path.

const run = promisify(execFile);

/** The environment of a user's shell: no INIT_CWD inherited from the npm that runs the tests. */
function userEnv(): NodeJS.ProcessEnv {
  const { INIT_CWD: _, ...env } = process.env;
  return env;
}

async function exitOf(command: string, args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(command, args, { cwd, env: userEnv(), timeout: 30_000 });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('a relative --config', () => {
  let caller: string;

  beforeAll(async () => {
    caller = await realpath(await mkdtemp(join(tmpdir(), 'switchyard-caller-')));
    await writeFile(join(caller, 'lb.yaml'), 'paths:\n  - path: /\n    servers: [127.0.0.1:9]\n    health_check: false\n');
  });

  describe('on Node', () => {
    it("is read from the caller's directory", async () => {
      const { stdout } = await run(process.execPath, [CLI, 'check', '--config', 'lb.yaml'], { cwd: caller, env: userEnv() });
      expect(stdout).toContain('lb.yaml: ok');
    });

    it('is named by its absolute path when it is not there', async () => {
      const { code, stderr } = await exitOf(process.execPath, [CLI, 'check', '--config', 'missing.yaml'], caller);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`switchyard: cannot read ${join(caller, 'missing.yaml')}: no such file`);
    });
  });

  describe('under deno task', () => {
    const task = ['task', '-q', '--config', join(PROJECT_ROOT, 'deno.json'), 'serve'];
    let stop: (() => Promise<unknown>) | undefined;
    afterAll(async () => stop?.());

    it("is read from the caller's directory, not the project's", async () => {
      const balancer = await spawnUntilListening(DENO_BINARY, [...task, '--config', 'lb.yaml', '--port', '0'], { cwd: caller, env: userEnv(), timeoutMs: 30_000 });
      stop = () => balancer.stop();
      expect(balancer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }, 40_000);

    it('is named by its absolute path when it is not there', async () => {
      const { code, stderr } = await exitOf(DENO_BINARY, [...task, '--config', 'missing.yaml', '--port', '0'], caller);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`switchyard: cannot read ${join(caller, 'missing.yaml')}: no such file`);
    }, 40_000);
  });
});
