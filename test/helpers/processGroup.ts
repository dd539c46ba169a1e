import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to the process group a detached child leads; nothing if the group is gone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is gone already.
  }
}

/** SIGTERM to the group, SIGKILL after 10 s if it has not exited, and resolves once it has. */
export async function stopGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  signalGroup(child, 'SIGTERM');
  const force = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}
