import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DENO_BINARY } from '../helpers/runtimes.ts';
import { PROJECT_ROOT, writeConfig } from '../helpers/startBalancer.ts';

// The command-line messages of test/e2e/cli.test.ts under `deno task serve`, where the errors come
// from Deno's Node compatibility, shaped a little differently.

const run = promisify(execFile);

async function denoServe(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(DENO_BINARY, ['task', '-q', 'serve', ...args], { cwd: PROJECT_ROOT, timeout: 30_000 });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('deno task serve says plainly', () => {
  it('that the port is in use, naming the address', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const file = await writeConfig('health_check: false\npaths: [{ path: /, servers: [localhost:1] }]\n');
      expect(await denoServe('--config', file, '--port', String(port))).toEqual({ code: 1, stderr: `switchyard: cannot listen on 127.0.0.1:${port}: address already in use\n` });
    } finally {
      taken.close();
    }
  }, 40_000);

  it('that a --config directory is one', async () => {
    const dir = dirname(await writeConfig(''));
    expect(await denoServe('--config', dir)).toEqual({ code: 1, stderr: `switchyard: cannot read ${dir}: it is a directory; --config takes a file\n` });
  }, 40_000);

  it('which option it does not know, and the likely one', async () => {
    expect(await denoServe('--prot', '8080')).toEqual({ code: 2, stderr: 'switchyard: unknown option --prot; did you mean --port?\n' });
  }, 40_000);
});
