// Finding the external programs the harness can use. Each is optional: a missing one turns into
// a "skipped" row, never a crash.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './paths.js';

/** Absolute path of an executable on PATH (plus the sbin dirs, where Debian puts nginx), or null. */
export function which(command) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The real Deno executable that the `deno` npm package installed. `node_modules/.bin/deno` is a
 * Node script (bin.cjs) that spawnSyncs the binary: running through it would add a Node process
 * that does not forward signals, and `deno task` cannot run it either (see RUNTIMES.md).
 */
export function denoBinary() {
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  const inPackage = join(repoRoot, 'node_modules', 'deno', exe);
  if (existsSync(inPackage)) return inPackage;
  const platformPackage = join(repoRoot, 'node_modules', '@deno', `${process.platform}-${process.arch === 'x64' ? 'x64' : process.arch}-glibc`, exe);
  if (existsSync(platformPackage)) return platformPackage;
  return which('deno');
}

/** First line a program prints for its version flag (stdout or stderr: nginx uses stderr). */
export function versionOf(command, args = ['-v']) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return text ? text.split('\n')[0].trim() : null;
}
