import { TokenBucket, type BucketPolicy } from './TokenBucket.ts';

/** Keys tracked at most, unless configured: a bucket and its key take a few hundred bytes, so some tens of MB at worst. */
export const DEFAULT_MAX_KEYS = 100_000;

const SWEEP_INTERVAL_MS = 1_000;

/**
 * One token bucket per key (a client address, a header value), in memory. Memory is bounded:
 * when `maxKeys` buckets exist, full buckets are forgotten (a fresh one is the same; swept at most
 * once a second), and otherwise the least recently used one goes. Under that much key pressure a forgotten client starts
 * again with a full bucket; that is the price of bounded memory.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #policy: BucketPolicy;
  readonly #maxKeys: number;
  readonly #now: () => number;
  #lastSweep = -Infinity;

  /** @param now milliseconds from any fixed origin; @default performance.now */
  constructor(policy: BucketPolicy, options: { maxKeys?: number; now?: () => number } = {}) {
    this.#policy = policy;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Number of keys tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes a token from the key's bucket.
   * @returns 0 when the request may pass, else the milliseconds until it could
   */
  take(key: string): number {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      // Re-inserting keeps the map in least-recently-used order.
      this.#buckets.delete(key);
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      bucket = new TokenBucket(this.#policy, now);
    }
    this.#buckets.set(key, bucket);
    return bucket.take(now);
  }

  /**
   * What `take` would answer, changing nothing: no token taken, no bucket made or moved.
   * @returns 0 when a request with this key would pass now, else the milliseconds until it could
   */
  peek(key: string): number {
    return this.#buckets.get(key)?.peek(this.#now()) ?? 0;
  }

  #evict(now: number): void {
    // Sweeping every full bucket walks the whole map: at most once a second, so a flood of new
    // keys costs one eviction each, not one walk each.
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) {
      this.#lastSweep = now;
      for (const [key, bucket] of this.#buckets) if (bucket.isFull(now)) this.#buckets.delete(key);
      if (this.#buckets.size < this.#maxKeys) return;
    }
    const oldest = this.#buckets.keys().next().value;
    if (oldest !== undefined) this.#buckets.delete(oldest);
  }
}
