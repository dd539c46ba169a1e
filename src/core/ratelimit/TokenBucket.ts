/** How a bucket fills: it holds at most `capacity` tokens and gains `refillPerMs` tokens a millisecond. */
export interface BucketPolicy {
  readonly capacity: number;
  readonly refillPerMs: number;
}

/**
 * A token bucket: starts full, each request takes one token, tokens come back at a steady rate.
 * It allows bursts of up to `capacity` requests and, over time, `refillPerMs` requests a
 * millisecond. Time is passed in, never read, so tests control it.
 */
export class TokenBucket {
  #tokens: number;
  #updated: number;
  readonly #policy: BucketPolicy;

  constructor(policy: BucketPolicy, now: number) {
    this.#policy = policy;
    this.#tokens = policy.capacity;
    this.#updated = now;
  }

  /**
   * Takes a token if there is one.
   * @returns 0 when a token was taken, else the milliseconds until one will be available
   */
  take(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return this.#wait(this.#tokens);
  }

  /** What `take` would answer at `now`, taking nothing and leaving the bucket as it is. */
  peek(now: number): number {
    const tokens = this.#tokensAt(now);
    return tokens >= 1 ? 0 : this.#wait(tokens);
  }

  // The epsilon absorbs floating-point dust, so 0.999 tokens at 1/ms waits 1 ms, not 2.
  #wait(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / this.#policy.refillPerMs - 1e-9));
  }

  /** Whether the bucket is full again at `now`: forgetting it then changes nothing. */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#policy.capacity;
  }

  #refill(now: number): void {
    this.#tokens = this.#tokensAt(now);
    this.#updated = Math.max(this.#updated, now);
  }

  // A clock that steps back must not drain or overfill the bucket.
  #tokensAt(now: number): number {
    return Math.min(this.#policy.capacity, this.#tokens + Math.max(0, now - this.#updated) * this.#policy.refillPerMs);
  }
}
