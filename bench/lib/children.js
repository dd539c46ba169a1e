// Every process the harness starts goes through here, so that one place can kill them all.
//
// Each child is spawned `detached`, which makes it the leader of its own process group. That
// matters for two reasons: `deno task` and nginx/HAProxy start grandchildren of their own, and
// signalling the negative pid reaches the whole group; and a Ctrl-C from the terminal reaches only
// the harness, which then stops the children in order instead of racing them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const live = new Set();
let stopping = false;

/** True once Ctrl-C or SIGTERM reached the harness: failures after that are not news. */
export const isStopping = () => stopping;

/**
 * Spawns a tracked child in its own process group. stdout/stderr are kept (last 64 KiB) so a
 * failed start can say why. `options.stdout`, a file descriptor, sends standard output there
 * instead (the `oplog` scenario's access log goes to /dev/null, not through the harness).
 */
export function startChild(command, args, options = {}) {
  const stdout = options.stdout ?? 'pipe';
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: options.ipc ? ['ignore', stdout, 'pipe', 'ipc'] : ['ignore', stdout, 'pipe'],
  });
  const record = { child, name: options.name ?? command, stdout: '', stderr: '', exited: false, exitCode: null };
  const keep = (key) => (chunk) => {
    record[key] = (record[key] + chunk.toString()).slice(-65536);
  };
  child.stdout?.on('data', keep('stdout'));
  child.stderr.on('data', keep('stderr'));
  child.on('error', (error) => {
    record.stderr += `\n${error.message}`;
    record.exited = true;
  });
  child.on('exit', (code, signal) => {
    record.exited = true;
    record.exitCode = code ?? signal;
    live.delete(record);
  });
  if (child.pid) live.add(record);
  else record.exited = true;
  return record;
}

/** Resolves with the first stdout match of `pattern`; rejects on exit or after `timeoutMs`. */
export function waitForOutput(record, pattern, timeoutMs) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = record.stdout.match(pattern);
      if (match) return finish(null, match);
      if (record.exited) return finish(new Error(`exited (${record.exitCode}) before it was ready: ${lastLines(record)}`));
    };
    const timer = setTimeout(() => finish(new Error(`not ready within ${timeoutMs / 1000} s: ${lastLines(record)}`)), timeoutMs);
    const finish = (error, value) => {
      clearTimeout(timer);
      record.child.stdout.off('data', onData);
      record.child.off('exit', onData);
      error ? reject(error) : resolve(value);
    };
    // The listeners run after startChild's own, so record.stdout already holds the new chunk.
    const onData = () => setImmediate(check);
    record.child.stdout.on('data', onData);
    record.child.on('exit', onData);
    check();
  });
}

/**
 * What a failed child said, squeezed onto one line for a table note: the lines that look like an
 * error if there are any (`deno task` follows "Task not found" with a long task list), else the
 * last few lines. Colour codes are stripped.
 */
export function lastLines(record, count = 3) {
  const lines = `${record.stderr}\n${record.stdout}`
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (lines.length === 0) return '(no output)';
  const errors = lines.filter((line) => /error|not found|cannot|failed|invalid|unknown|ALERT/i.test(line));
  return (errors.length ? errors.slice(0, count) : lines.slice(-count)).join(' | ').slice(0, 400);
}

/** SIGTERM to the group, SIGKILL after `graceMs` if it is still there. */
export async function stopChild(record, graceMs = 3000) {
  if (record.exited) return;
  signalGroup(record, 'SIGTERM');
  const exited = once(record.child, 'exit');
  const timeout = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
  await Promise.race([exited, timeout]);
  if (!record.exited) signalGroup(record, 'SIGKILL');
  // The group may outlive its leader (a grandchild that ignored SIGTERM); make sure it is gone.
  signalGroup(record, 'SIGKILL');
}

export async function stopAllChildren() {
  await Promise.all([...live].map((record) => stopChild(record)));
}

/** Synchronous last resort for the 'exit' handler, where nothing async can run any more. */
export function killAllChildrenNow() {
  for (const record of live) signalGroup(record, 'SIGKILL');
  live.clear();
}

function signalGroup(record, signal) {
  try {
    process.kill(-record.child.pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

let installed = false;

/**
 * Makes sure no child outlives the harness: on normal exit, on an uncaught error, and on
 * Ctrl-C / SIGTERM (stop politely, then exit with the conventional code).
 */
export function installCleanup() {
  if (installed) return;
  installed = true;
  process.on('exit', killAllChildrenNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, async () => {
      stopping = true;
      console.error(`\n${signal}: stopping ${live.size} child process(es)...`);
      const hardStop = setTimeout(() => process.exit(130), 5000);
      hardStop.unref();
      await stopAllChildren();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    console.error(error);
    killAllChildrenNow();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    console.error(error);
    killAllChildrenNow();
    process.exit(1);
  });
}
