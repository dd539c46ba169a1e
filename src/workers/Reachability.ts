export interface ReachabilityOptions {
  /**
   * How long after the last failed call an answer counts as "answers again" (0: at once). Calls
   * that go to different objects (rate limits: one per key) can fail and answer by turns; a quiet
   * spell keeps that from logging a pair of lines per request.
   * @default 0
   */
  readonly quietMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Whether the Durable Object answers, as an isolate logs it: one line when it stops answering
 * (with the first error) and one when it answers again (with how many calls failed meanwhile),
 * never a line per request.
 */
export class Reachability {
  #down = false;
  #lastFailure = -Infinity;
  #failures = 0;
  readonly #subject: string;
  readonly #log: (line: string) => void;
  readonly #quietMs: number;
  readonly #now: () => number;

  /** @param subject what is shared through the object, `health` or `rate limits`, for the log lines */
  constructor(subject: string, log: (line: string) => void, options: ReachabilityOptions = {}) {
    this.#subject = subject;
    this.#log = log;
    this.#quietMs = options.quietMs ?? 0;
    this.#now = options.now ?? Date.now;
  }

  get down(): boolean {
    return this.#down;
  }

  failed(error: unknown): void {
    this.#lastFailure = this.#now();
    this.#failures++;
    if (this.#down) return;
    this.#down = true;
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    this.#log(`switchyard: the SWITCHYARD_STATE Durable Object does not answer (${reason}); ${this.#subject}: this isolate's own until it does`);
  }

  answered(): void {
    if (!this.#down || this.#now() - this.#lastFailure < this.#quietMs) return;
    this.#down = false;
    const failures = this.#failures;
    this.#failures = 0;
    this.#log(`switchyard: the SWITCHYARD_STATE Durable Object answers again; ${this.#subject}: shared again (${failures} failed ${failures === 1 ? 'call' : 'calls'} meanwhile)`);
  }
}
