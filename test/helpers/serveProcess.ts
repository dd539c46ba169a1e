import { stopGroup } from './processGroup.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { DENO_BINARY } from './runtimes.ts';
import { CLI, PROJECT_ROOT, writeConfig } from './startBalancer.ts';
import { waitFor, within } from './waitFor.ts';

/** The runtimes `serve` runs on from the command line. */
export type ServeRuntime = 'node' | 'deno';

/** The config to serve: its text (written to a fresh lb.yaml), or a file already written. */
export type ServeConfig = string | { readonly file: string };

export interface ServeOptions {
  /** Arguments after `--config FILE` and the loopback flags. */
  readonly args?: readonly string[];
  /**
   * `--port 0 --hostname 127.0.0.1`, replacing the config's `listen` with a free loopback port;
   * false starts from the config's own `listen` (TLS listeners). @default true
   */
  readonly loopback?: boolean;
  /** How many `listening on` lines to wait for. @default 1 */
  readonly listeners?: number;
  /** Also wait for the `admin listening on` line that follows them. @default false */
  readonly admin?: boolean;
  /** Environment variables added to the test's own. @default none */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Deno: more permissions than the serve task's (such as `--allow-write=DIR` for `tls.acme`); the
   * server is then run with `deno run` and the task's own flags plus these. @default none
   */
  readonly denoPermissions?: readonly string[];
}

/** A `serve` process started by `serveProcess`. */
export interface ServeProcess {
  /** The config file served (write it again and reload to change the config). */
  readonly file: string;
  /** The URLs of the `listening on` lines, in the order printed. */
  readonly urls: readonly string[];
  /** The first of `urls`. */
  readonly url: string;
  /** The admin listener's URL, when `admin` asked for its line. */
  readonly adminUrl: string | undefined;
  /** The process started: `node dist/cli.js` or `deno task`, the leader of its own process group. */
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Whether the process started (for Deno, `deno task`) is still running. */
  running(): boolean;
  /** SIGHUP to the process started only: `deno task` passes it on to the server, so the group must not get it twice. */
  hangUp(): void;
  /** SIGTERM to the group, SIGKILL after 10 s; resolves once the process started has exited. */
  stop(): Promise<void>;
}

const LOOPBACK = ['--port', '0', '--hostname', '127.0.0.1'];

/**
 * Starts `switchyard serve` from the build (Node; run `npm run build` first) or `deno task serve`
 * (Deno) in its own process group, stdout and stderr kept apart, and resolves once stdout starts
 * with the `listening on` lines (30 s at most).
 * @example const served = await serveProcess('deno', 'hosts: ...', { args: ['--access-log', 'text'] });
 */
export async function serveProcess(runtime: ServeRuntime, config: ServeConfig, options: ServeOptions = {}): Promise<ServeProcess> {
  const { listeners = 1, admin = false } = options;
  const started = await start(runtime, config, options);
  const { child, output, stop } = started;
  const ready = new RegExp(`^((?:listening on https?://\\S+\\n){${listeners}})${admin ? 'admin listening on (https?://\\S+)\\n' : ''}`);
  try {
    await waitFor(() => ready.test(output.stdout) || child.exitCode !== null, 30_000, `${runtime} to print ${listeners} "listening on" line(s)${admin ? ' and "admin listening on"' : ''}`);
  } catch (error) {
    await stop();
    throw new Error(`${String(error)}\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`);
  }
  const match = ready.exec(output.stdout);
  if (!match) throw new Error(`${runtime} exited with ${child.exitCode} before it was ready:\n${output.stdout}\n${output.stderr}`);
  const urls = match[1].split('\n').filter(Boolean).map((line) => line.slice('listening on '.length));
  return {
    file: started.file,
    urls,
    url: urls[0],
    adminUrl: match[2],
    child,
    pid: child.pid!,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    running: () => child.exitCode === null && child.signalCode === null,
    hangUp: () => void child.kill('SIGHUP'),
    stop,
  };
}

/** What a `serve` that refused to start printed, and its exit code. */
export interface ServeExit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `serve` as `serveProcess` does until it exits by itself (within 30 s), as it must when it refuses to start. */
export async function serveUntilExit(runtime: ServeRuntime, config: ServeConfig, options: Pick<ServeOptions, 'args' | 'loopback' | 'env' | 'denoPermissions'> = {}): Promise<ServeExit> {
  const { output, exited, stop } = await start(runtime, config, options);
  try {
    const code = await within(exited, `${runtime} to exit by itself`, 30_000);
    return { code, ...output };
  } finally {
    await stop();
  }
}

async function start(runtime: ServeRuntime, config: ServeConfig, { args = [], loopback = true, env = {}, denoPermissions }: ServeOptions) {
  const file = typeof config === 'string' ? await writeConfig(config) : config.file;
  const flags = ['--config', file, ...(loopback ? LOOPBACK : []), ...args];
  const deno = denoPermissions ? ['run', '--allow-net', '--allow-read', '--allow-env', ...denoPermissions, 'src/deno.ts', ...flags] : ['task', 'serve', ...flags];
  const [command, argv] = runtime === 'node' ? [process.execPath, [CLI, 'serve', ...flags]] : [DENO_BINARY, deno];
  const child = spawn(command, argv, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => void (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = () => stopGroup(child, exited);
  return { file, child, output, exited, stop };
}
