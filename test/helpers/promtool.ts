import { spawn } from 'node:child_process';

/** Debian's `prometheus` package; `.ci/run` installs it. */
export const PROMTOOL_BINARY = '/usr/bin/promtool';

/** What `promtool check metrics` said: exit 0 with no output means valid and lint-free. */
export interface PromtoolVerdict {
  /** 0 valid, 3 lint problems, 1 a parse error; null if it was killed. */
  readonly code: number | null;
  /** stdout and stderr together: one line per lint problem or the parse error. */
  readonly output: string;
}

/**
 * Runs `promtool check metrics` on Prometheus text exposition, given on stdin, as Prometheus'
 * own linter (names, suffixes, HELP and TYPE, parsing). Killed after `timeoutMs` (default 10 s).
 */
export function checkMetrics(text: string, timeoutMs = 10_000): Promise<PromtoolVerdict> {
  const child = spawn(PROMTOOL_BINARY, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  // promtool may exit at a parse error before reading all of stdin.
  child.stdin.on('error', () => {});
  child.stdin.end(text);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
  });
}
