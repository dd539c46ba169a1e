// Switchyard itself, through its public command line (DESIGN.md): on Node via the built
// dist/cli.js, on Deno via `deno task serve`. Both print `listening on http://HOST:PORT`.
import { closeSync, existsSync, openSync } from 'node:fs';
import { lastLines, startChild, waitForOutput, stopChild } from '../lib/children.js';
import { freePort, get } from '../lib/net.js';
import { denoBinary } from '../lib/tools.js';
import { repoRoot, switchyardCli } from '../lib/paths.js';

const LISTENING = /listening on http:\/\/(\[[^\]]+\]|[^\s:/]+):(\d+)/;

/**
 * @param {{ runtime: 'node' | 'deno', configPath: string, timeoutMs: number, accessLog?: 'off' | 'json' | 'text',
 *   admin?: boolean, stdoutToDevNull?: boolean, args?: string[] }} options
 *   `accessLog` defaults to `off`, as nginx runs here, and as every scenario but `oplog` measured
 *   before the access log existed. `admin` adds `--admin 127.0.0.1:PORT` (metrics kept and served);
 *   the result then has `adminUrl`. `stdoutToDevNull` sends standard output, the access log, to
 *   /dev/null instead of through a pipe to the harness, whose reads would cost the shared CPU; the
 *   port is then picked here, since the `listening on` line cannot be read. `args` are more
 *   flags for `serve` (`--workers 2`).
 */
export async function startSwitchyard({ runtime, configPath, timeoutMs, accessLog = 'off', admin = false, stdoutToDevNull = false, args = [] }) {
  const port = stdoutToDevNull ? await freePort() : 0;
  const adminPort = admin ? await freePort() : undefined;
  const flags = ['--config', configPath, '--port', String(port), '--hostname', '127.0.0.1', '--access-log', accessLog, ...(admin ? ['--admin', `127.0.0.1:${adminPort}`] : []), ...args];
  const stdout = stdoutToDevNull ? openSync('/dev/null', 'w') : undefined;
  let record;
  try {
    if (runtime === 'node') {
      if (!existsSync(switchyardCli)) throw new Error('dist/cli.js is not built (npm run build)');
      record = startChild(process.execPath, [switchyardCli, 'serve', ...flags], { cwd: repoRoot, name: 'switchyard-node', stdout });
    } else {
      const deno = denoBinary();
      if (!deno) throw new Error('no deno binary (npm ci installs one under node_modules/deno)');
      // The real binary, not node_modules/.bin/deno: see lib/tools.js. `deno task` runs the task
      // as a child of its own; the process-group kill in children.js stops both.
      record = startChild(deno, ['task', 'serve', ...flags], {
        cwd: repoRoot,
        name: 'switchyard-deno',
        env: { ...process.env, NO_COLOR: '1' },
        stdout,
      });
    }
  } finally {
    // The child has its own copy.
    if (stdout !== undefined) closeSync(stdout);
  }
  const adminUrl = admin ? `http://127.0.0.1:${adminPort}` : undefined;
  try {
    if (stdoutToDevNull) {
      const url = `http://127.0.0.1:${port}`;
      await listeningOrExited(record, url, timeoutMs);
      return { record, url, adminUrl, pid: record.child.pid };
    }
    const [, host, listeningPort] = await waitForOutput(record, LISTENING, timeoutMs);
    return { record, url: `http://${host}:${listeningPort}`, adminUrl, pid: record.child.pid };
  } catch (error) {
    await stopChild(record, 500);
    throw error;
  }
}

/** Waits until `url` answers at all (any status: the lineup then waits for a 2xx), or the child exits. */
async function listeningOrExited(record, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (record.exited) throw new Error(`exited (${record.exitCode}) before it was ready: ${lastLines(record)}`);
    try {
      return await get(url, { timeoutMs: 500 });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`not listening on ${url} within ${timeoutMs / 1000} s: ${lastLines(record)}`);
}
