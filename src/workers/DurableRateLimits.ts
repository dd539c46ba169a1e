import type { FallbackReason, RateLimitStore, SharedPolicy } from '../core/RateLimitStore.ts';
import { Reachability } from './Reachability.ts';
import type { SharedStateObject } from './stateMessages.ts';
import { rateLimitObject } from './SwitchyardState.ts';
import { NoAnswerInTime, withTimeout } from './withTimeout.ts';
import type { DurableObjectNamespace } from './workersTypes.ts';

/**
 * How long a limited request waits for its key's object before this isolate's own bucket answers.
 * The timeout is there for an object that is dead or stuck, not for one that is far: a key's
 * object lives where the key was first seen, and an isolate on another continent pays a round
 * trip of 150-300 ms plus the object's queue on every call. A timeout shorter than that would
 * send far isolates to their own full buckets (over-admitting, see the class) on ordinary calls;
 * a second is past any intercontinental round trip while still bounding what a stuck object
 * costs a request. Not `store.timeout`: that key configures Redis (`store.redis` is required).
 */
export const RATE_LIMIT_TIMEOUT_MS = 1_000;

/** Refusals remembered per isolate at most; past it the oldest go (they only save a call). */
const MAX_REFUSALS = 10_000;

/**
 * How long the keys' objects must answer without a failure before the isolate logs that they
 * answer again: one key's object may fail (a hot key, a far object) while others answer, and the
 * log should say so once, not twice per request.
 */
const QUIET_BEFORE_ANSWERS_AGAIN_MS = 60_000;

export interface DurableRateLimitsOptions {
  /** The clock refusals are remembered by. @default Date.now */
  readonly now?: () => number;
  /**
   * Told of each call this isolate's own bucket answers because the key's object could not (one
   * per limit a request is under): `timeout` past `RATE_LIMIT_TIMEOUT_MS`, `error` when the call
   * failed (the object threw, was reset or overloaded, the binding refused). Never `unreachable`:
   * there is no connection to be down, each call is tried. The isolate's `TrafficTally` counts
   * them for `/metrics` (`switchyard_store_fallbacks_total`).
   */
  readonly onFallback?: (reason: FallbackReason) => void;
}

/**
 * Rate limits kept in Durable Objects, one object per limit and key (`rateLimitObject`), so a
 * limit of R admits R in total whichever isolates the requests land on, and no object is a
 * bottleneck for more than one key. One call per limited request, except that a refusal is
 * remembered until its bucket could admit again (a bucket refuses until then whoever asks, so
 * the answer is the same without the call): a flooding key stops costing calls. When the object
 * cannot answer within `RATE_LIMIT_TIMEOUT_MS`, the isolate's own buckets answer, holding the
 * whole limit each (`fallbackShare` 1: an isolate cannot know how many others there are), as
 * without the binding: while falling back, N isolates admit up to N times the limit (and a call
 * that timed out may still have spent the object's token).
 */
export class DurableRateLimits implements RateLimitStore {
  readonly fallbackShare = 1;
  readonly #namespace: DurableObjectNamespace<SharedStateObject>;
  readonly #refusedUntil = new Map<string, number>();
  readonly #reach: Reachability;

  readonly #now: () => number;
  readonly #onFallback: (reason: FallbackReason) => void;

  constructor(namespace: DurableObjectNamespace<SharedStateObject>, log: (line: string) => void, options: DurableRateLimitsOptions = {}) {
    const { now = Date.now, onFallback = () => {} } = options;
    this.#namespace = namespace;
    this.#now = now;
    this.#onFallback = onFallback;
    this.#reach = new Reachability('rate limits', log, { quietMs: QUIET_BEFORE_ANSWERS_AGAIN_MS, now });
  }

  async take(limit: string, key: string, policy: SharedPolicy): Promise<number | undefined> {
    const name = rateLimitObject(limit, key);
    const now = this.#now();
    const until = this.#refusedUntil.get(name);
    if (until !== undefined) {
      if (now < until) return until - now;
      this.#refusedUntil.delete(name);
    }
    let wait: number;
    try {
      wait = await withTimeout(this.#namespace.get(this.#namespace.idFromName(name)).take(limit, policy), RATE_LIMIT_TIMEOUT_MS);
    } catch (error) {
      this.#reach.failed(error);
      this.#onFallback(error instanceof NoAnswerInTime ? 'timeout' : 'error');
      return undefined;
    }
    this.#reach.answered();
    if (wait > 0) {
      if (this.#refusedUntil.size >= MAX_REFUSALS) this.#refusedUntil.delete(this.#refusedUntil.keys().next().value!);
      this.#refusedUntil.set(name, this.#now() + wait);
    }
    return wait;
  }
}
