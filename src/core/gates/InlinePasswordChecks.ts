import type { PasswordChecks } from './PasswordChecks.ts';
import { verifyPassword, type PasswordHash } from './passwordHash.ts';

/**
 * Password checks run where the request is, in the runtime's one thread (Workers: an isolate has
 * no threads, and its CPU per request is limited anyway). They go in asynchronous slices, yet a
 * bcrypt slice holds the thread up to 100 ms (bcryptjs), so `max` checks at once may hold it about
 * `max` x 100 ms at a time: this is the Workers way, and the default where no runtime gives one.
 */
export class InlinePasswordChecks implements PasswordChecks {
  #inProgress = 0;

  /** @param max checks at once (default 4) */
  constructor(readonly max = 4) {}

  get inProgress(): number {
    return this.#inProgress;
  }

  tryCheck(password: string, hash: PasswordHash): Promise<boolean> | undefined {
    if (this.#inProgress >= this.max) return undefined;
    this.#inProgress++;
    return verifyPassword(password, hash).finally(() => this.#inProgress--);
  }
}
