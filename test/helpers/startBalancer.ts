import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(PROJECT_ROOT, 'dist/cli.js');

export interface RunningBalancer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything printed so far, stdout and stderr together. */
  output(): string;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Writes config text (YAML or JSON) to a temporary file and returns its path. */
export async function writeConfig(text: string, name = 'lb.yaml'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-test-'));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/**
 * Runs `switchyard serve` from the build on a free loopback port, as a user would, and waits for
 * its `listening on` line (10 s at most).
 */
export async function startBalancer(configText: string, extraArgs: string[] = []): Promise<RunningBalancer> {
  const configFile = await writeConfig(configText);
  return spawnUntilListening(process.execPath, [CLI, 'serve', '--config', configFile, '--port', '0', '--hostname', '127.0.0.1', ...extraArgs]);
}

/** Spawns a server command and resolves once it prints `listening on http://HOST:PORT`. */
export function spawnUntilListening(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunningBalancer> {
  const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening on" line within ${options.timeoutMs ?? 10_000} ms:\n${output}`));
    }, options.timeoutMs ?? 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          process: child,
          output: () => output,
          stop: (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
            return exited.finally(() => clearTimeout(force));
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
}
