import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, PROJECT_ROOT } from './startBalancer.ts';

const run = promisify(execFile);

/** `switchyard ARGS...` from the build (run `npm run build` first), in the project's folder: its exit code and output. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, timeout: 10_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
