/**
 * The password checks in progress, bounded for a whole config: each costs tens to hundreds of
 * milliseconds of CPU, so a flood of wrong passwords, on however many routes, can busy at most
 * `max` of them at once; past it `basic_auth` answers 503 without checking.
 */
export class PasswordChecks {
  #inProgress = 0;

  /** @param max checks at once (default 4: two cores' worth, twice over, on the machines a balancer runs on) */
  constructor(readonly max = 4) {}

  get inProgress(): number {
    return this.#inProgress;
  }

  /** Runs `check` if a place is free; undefined when none is. */
  tryRun<T>(check: () => Promise<T>): Promise<T> | undefined {
    if (this.#inProgress >= this.max) return undefined;
    this.#inProgress++;
    return check().finally(() => this.#inProgress--);
  }
}
