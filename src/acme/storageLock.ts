import { randomUUID } from 'node:crypto';
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';

/** Who holds a lock: written into the lock file, for the waiters' log lines and for people. */
export interface LockOwner {
  readonly pid: number;
  /** When it was taken, in ms since the epoch. */
  readonly at: number;
  /** This taking of the lock, so a holder knows its own lock from one taken after it. */
  readonly id: string;
}

export interface LockOptions {
  /** A lock not refreshed for this long belongs to a process that died (or hangs) holding it. @default 60 s */
  readonly staleMs?: number;
  /** How often the holder refreshes its lock's time, to show it is alive. @default 10 s */
  readonly heartbeatMs?: number;
  /** How often a waiter looks again. @default 1 s */
  readonly pollMs?: number;
  /** Told once when the lock is held by another process, before waiting. */
  readonly onWait?: (owner: LockOwner | undefined) => void;
  /** Ends the wait: `takeLock` rejects with the signal's reason and takes nothing (a stopping process). */
  readonly signal?: AbortSignal;
}

/** A lock taken by `takeLock`. */
export interface HeldLock {
  /** Whether the lock is still this holder's: false once another process took it over as stale. */
  holds(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Takes the lock file `file`, waiting while another process holds it: created with O_EXCL (`wx`),
 * which is atomic on local file systems and NFSv3+. The holder touches the file every
 * `heartbeatMs`; a file untouched for `staleMs` is taken over (its holder died: kill -9, OOM, power
 * loss), so a crash costs the others a minute, not an order's worth of waiting; the takeover is
 * itself locked, so two waiters cannot both hold the lock. The file's time,
 * not a pid, tells: it works across machines sharing the directory and across pid reuse.
 * Several processes sharing an ACME storage directory so order a certificate one at a time, and
 * the others find it written when they get the lock.
 */
export async function takeLock(file: string, options: LockOptions = {}): Promise<HeldLock> {
  const { staleMs = 60_000, heartbeatMs = 10_000, pollMs = 1000, signal } = options;
  let told = false;
  for (;;) {
    signal?.throwIfAborted();
    const owner: LockOwner = { pid: process.pid, at: Date.now(), id: randomUUID() };
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(owner));
      } finally {
        await handle.close();
      }
      return held(file, owner.id, heartbeatMs);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    const holder = await readOwner(file);
    const touched = await stat(file).then((s) => s.mtimeMs, () => undefined);
    if (touched === undefined) continue;
    if (Date.now() - touched > staleMs) {
      await takeOver(file, holder, staleMs);
      continue;
    }
    if (!told) {
      told = true;
      options.onWait?.(holder);
    }
    await pause(pollMs, signal);
  }
}

/** Waits `ms`, or rejects as soon as `signal` is aborted. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

/** A takeover's own lock older than this was left by a process that died in the middle of one (a few ms). */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Removes the stale lock `holder` left, under a second lock (`FILE.takeover`, O_EXCL) and after
 * looking again: a lock file is only ever removed by its holder or by a takeover that has just seen
 * it stale, so two waiters who both saw it stale cannot remove a lock one of them took meanwhile.
 */
async function takeOver(file: string, holder: LockOwner | undefined, staleMs: number): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await (await open(guard, 'wx', 0o600)).close();
  } catch {
    const since = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (since > TAKEOVER_STALE_MS) await unlink(guard).catch(() => {});
    // Another waiter is taking over: look again in a moment.
    await new Promise((resolve) => setTimeout(resolve, 10));
    return;
  }
  try {
    const touched = await stat(file).then((s) => s.mtimeMs, () => undefined);
    if (touched !== undefined && Date.now() - touched > staleMs && (await readOwner(file))?.id === holder?.id) await unlink(file).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
  }
}

function held(file: string, id: string, heartbeatMs: number): HeldLock {
  const holds = async () => (await readOwner(file))?.id === id;
  const heartbeat = setInterval(() => {
    void holds().then((mine) => {
      if (mine) return utimes(file, new Date(), new Date());
    }).catch(() => {});
  }, heartbeatMs);
  heartbeat.unref?.();
  return {
    holds,
    release: async () => {
      clearInterval(heartbeat);
      // Only its own: a lock taken over as stale belongs to someone else now.
      if (await holds()) await unlink(file).catch(() => {});
    },
  };
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, 'utf8')) as LockOwner;
    return typeof owner.at === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}
