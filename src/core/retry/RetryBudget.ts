const WINDOW_SECONDS = 10;

/**
 * Caps retries so they cannot multiply load during an outage (Finagle's and Envoy's retry
 * budgets): over the last 10 seconds, retries may number at most `ratio` times the requests
 * plus `minPerSecond` per second. Counts live in one-second buckets on the injected clock.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #minPerSecond: number;
  readonly #now: () => number;
  readonly #requests = new Array<number>(WINDOW_SECONDS).fill(0);
  readonly #retries = new Array<number>(WINDOW_SECONDS).fill(0);
  #second = -Infinity;

  constructor(ratio: number, minPerSecond: number, now: () => number = Date.now) {
    this.#ratio = ratio;
    this.#minPerSecond = minPerSecond;
    this.#now = now;
  }

  /** Counts a request (its first attempt). */
  recordRequest(): void {
    this.#requests[this.#advance()]++;
  }

  /** Takes one retry from the budget; false when the budget is spent and the retry must not happen. */
  tryRetry(): boolean {
    const slot = this.#advance();
    const requests = this.#requests.reduce((a, b) => a + b, 0);
    const retries = this.#retries.reduce((a, b) => a + b, 0);
    if (retries + 1 > this.#ratio * requests + this.#minPerSecond * WINDOW_SECONDS) return false;
    this.#retries[slot]++;
    return true;
  }

  #advance(): number {
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#second) {
      // Clear the buckets of the seconds that passed since the last call (all of them after a long pause).
      const passed = Math.min(second - this.#second, WINDOW_SECONDS);
      for (let i = 1; i <= passed; i++) {
        const slot = (((second - passed + i) % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS;
        this.#requests[slot] = 0;
        this.#retries[slot] = 0;
      }
      this.#second = second;
    }
    return ((second % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS;
  }
}
