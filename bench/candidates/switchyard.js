// Switchyard itself, through its public command line (DESIGN.md): on Node via the built
// dist/cli.js, on Deno via `deno task serve`. Both print `listening on http://HOST:PORT`.
import { existsSync } from 'node:fs';
import { startChild, waitForOutput, stopChild } from '../lib/children.js';
import { denoBinary } from '../lib/tools.js';
import { repoRoot, switchyardCli } from '../lib/paths.js';

const LISTENING = /listening on http:\/\/(\[[^\]]+\]|[^\s:/]+):(\d+)/;

/** @param {{ runtime: 'node' | 'deno', configPath: string, timeoutMs: number }} options */
export async function startSwitchyard({ runtime, configPath, timeoutMs }) {
  const flags = ['--config', configPath, '--port', '0', '--hostname', '127.0.0.1'];
  let record;
  if (runtime === 'node') {
    if (!existsSync(switchyardCli)) throw new Error('dist/cli.js is not built (npm run build)');
    record = startChild(process.execPath, [switchyardCli, 'serve', ...flags], { cwd: repoRoot, name: 'switchyard-node' });
  } else {
    const deno = denoBinary();
    if (!deno) throw new Error('no deno binary (npm ci installs one under node_modules/deno)');
    // The real binary, not node_modules/.bin/deno: see lib/tools.js. `deno task` runs the task
    // as a child of its own; the process-group kill in children.js stops both.
    record = startChild(deno, ['task', 'serve', ...flags], {
      cwd: repoRoot,
      name: 'switchyard-deno',
      env: { ...process.env, NO_COLOR: '1' },
    });
  }
  try {
    const [, host, port] = await waitForOutput(record, LISTENING, timeoutMs);
    return { record, url: `http://${host}:${port}`, pid: record.child.pid };
  } catch (error) {
    await stopChild(record, 500);
    throw error;
  }
}
