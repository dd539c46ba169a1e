/** A rate limit's policy as a shared store keeps it: bursts of `burst`, `requests` per `perMs` on average. */
export interface SharedPolicy {
  readonly requests: number;
  readonly perMs: number;
  readonly burst: number;
}

/**
 * Why a limited request was answered by the local buckets: the store was not reached (not
 * connected, or its circuit open), did not answer in time, or answered an error.
 */
export type FallbackReason = 'unreachable' | 'timeout' | 'error';

/** Every `FallbackReason`, as `switchyard_store_fallbacks_total` lists them (each always, 0 when none). */
export const FALLBACK_REASONS: readonly FallbackReason[] = ['unreachable', 'timeout', 'error'];

/** One shared bucket a request takes a token from: its limit (`sharedLimitName`), key and policy. */
export interface SharedBucket {
  readonly limit: string;
  readonly key: string;
  readonly policy: SharedPolicy;
}

/**
 * Where rate limits are kept when every instance must share them (`store` in the config; Redis on
 * Node and Deno): a capability the entry point passes to the compiler, so the core never talks
 * to Redis itself. Without one, buckets are this process's.
 */
export interface RateLimitStore {
  /** The share of each limit an instance enforces alone when the store cannot answer, above 0 and at most 1. */
  readonly fallbackShare: number;
  /**
   * Takes a token from the shared bucket `key` of the limit `limit` (`sharedLimitName`: what the
   * limit applies to and its settings, hashed). Never rejects: resolves to 0 when the request may pass, the milliseconds
   * until it could, or undefined when the store cannot answer in time (the caller then asks its
   * local buckets, scaled by `fallbackShare`).
   */
  take(limit: string, key: string, policy: SharedPolicy): Promise<number | undefined>;
  /**
   * Takes a token from each of `buckets` (a request's top-level and route limits) at once: one
   * round trip, and atomic: the request is admitted only if every bucket admits it, and a
   * refusal by any spends no token of the others. Never rejects: resolves to one wait per bucket
   * (all 0 when admitted), or undefined when the store cannot answer. A store without it is asked
   * with `take`, bucket after bucket.
   */
  takeAll?(buckets: readonly SharedBucket[]): Promise<readonly number[] | undefined>;
}
