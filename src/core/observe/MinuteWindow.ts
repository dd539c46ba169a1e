/** Requests and errors over the last minute, as the status page shows them per backend. */
export interface MinuteTotals {
  readonly requests: number;
  readonly errors: number;
}

const SLOTS = 60;

/**
 * Counts requests and errors in one-second slots over the last 60 seconds: adding is two array
 * writes, reading sums 60 slots, and memory stays the same however busy the backend is.
 */
export class MinuteWindow {
  readonly #requests = new Uint32Array(SLOTS);
  readonly #errors = new Uint32Array(SLOTS);
  /** The second (since the clock's origin) each slot counts; a slot of an older second is stale. */
  readonly #seconds = new Float64Array(SLOTS).fill(-1);

  /** @param nowMs the time in milliseconds, on any clock that only goes forward */
  add(error: boolean, nowMs: number): void {
    this.addCounts(1, error ? 1 : 0, nowMs);
  }

  /** Adds requests counted elsewhere (`errors` of them failed) to the second of `nowMs`, in one step however many. */
  addCounts(requests: number, errors: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const slot = second % SLOTS;
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      this.#requests[slot] = 0;
      this.#errors[slot] = 0;
    }
    this.#requests[slot] += requests;
    this.#errors[slot] += errors;
  }

  /** What the last 60 seconds up to `nowMs` hold. */
  totals(nowMs: number): MinuteTotals {
    const second = Math.floor(nowMs / 1000);
    let requests = 0;
    let errors = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      if (second - this.#seconds[slot] >= SLOTS || this.#seconds[slot] > second) continue;
      requests += this.#requests[slot];
      errors += this.#errors[slot];
    }
    return { requests, errors };
  }
}
