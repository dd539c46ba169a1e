import type { PasswordHash } from './passwordHash.ts';

/**
 * Where `basic_auth`'s password checks run, and how many at once, for a whole config: a runtime
 * capability. Each check costs tens to hundreds of milliseconds of CPU, so it is bounded: past
 * `max` checks in hand, a flood of wrong passwords, on however many routes, is answered 503
 * unchecked. On Node and Deno the checks run on worker threads, off the event loop
 * (`src/server/ThreadedPasswordChecks.ts`); on Workers, which have no threads, in the isolate
 * itself (`InlinePasswordChecks`).
 */
export interface PasswordChecks {
  /** Checks in hand at most, running or waiting for a place. */
  readonly max: number;
  readonly inProgress: number;
  /**
   * Whether `password` is the one `hash` was made of; undefined, unchecked, when `max` checks are
   * in hand already. Rejects only when the check could not run (a thread that died).
   */
  tryCheck(password: string, hash: PasswordHash): Promise<boolean> | undefined;
}
