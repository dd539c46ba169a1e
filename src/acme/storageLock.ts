import { open, readFile, stat, unlink } from 'node:fs/promises';

/** Who holds a lock: written into the lock file, for the waiters' log lines and for people. */
export interface LockOwner {
  readonly pid: number;
  /** When it was taken, in ms since the epoch. */
  readonly at: number;
}

export interface LockOptions {
  /** A lock older than this is taken to belong to a process that died holding it. @default 15 min */
  readonly staleMs?: number;
  /** How often a waiter looks again. @default 1 s */
  readonly pollMs?: number;
  /** Told once when the lock is held by another process, before waiting. */
  readonly onWait?: (owner: LockOwner | undefined) => void;
  readonly now?: () => number;
}

/** Releases a lock taken by `takeLock`. */
export type ReleaseLock = () => Promise<void>;

/**
 * Takes the lock file `file`, waiting while another process holds it: created with O_EXCL (`wx`),
 * which is atomic on local file systems and NFSv3+, holding the owner's pid and time. A lock
 * older than `staleMs` is removed and taken (its owner died, or hangs past any order's length).
 * Several processes sharing an ACME storage directory so order a certificate one at a time, and the
 * others find it written when they get the lock.
 */
export async function takeLock(file: string, options: LockOptions = {}): Promise<ReleaseLock> {
  const { staleMs = 15 * 60_000, pollMs = 1000, now = Date.now } = options;
  let told = false;
  for (;;) {
    const owner: LockOwner = { pid: process.pid, at: now() };
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(owner));
      } finally {
        await handle.close();
      }
      return async () => {
        // Only its own: a lock taken over as stale belongs to someone else now.
        if ((await readOwner(file))?.at === owner.at) await unlink(file).catch(() => {});
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    const holder = await readOwner(file);
    const takenAt = holder?.at ?? (await stat(file).then((s) => s.mtimeMs, () => now()));
    if (now() - takenAt > staleMs) {
      await unlink(file).catch(() => {});
      continue;
    }
    if (!told) {
      told = true;
      options.onWait?.(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, 'utf8')) as LockOwner;
    return typeof owner.at === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}
