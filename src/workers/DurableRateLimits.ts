import type { RateLimitStore, SharedPolicy } from '../core/RateLimitStore.ts';
import { Reachability } from './Reachability.ts';
import type { SharedStateObject } from './stateMessages.ts';
import { rateLimitObject } from './SwitchyardState.ts';
import { withTimeout } from './withTimeout.ts';
import type { DurableObjectNamespace } from './workersTypes.ts';

/** How long a limited request waits for its key's object before this isolate's own bucket answers. */
export const RATE_LIMIT_TIMEOUT_MS = 250;

/** Refusals remembered per isolate at most; past it the oldest go (they only save a call). */
const MAX_REFUSALS = 10_000;

/**
 * Rate limits kept in Durable Objects, one object per limit and key (`rateLimitObject`), so a
 * limit of R admits R in total whichever isolates the requests land on, and no object is a
 * bottleneck for more than one key. One call per limited request, except that a refusal is
 * remembered until its bucket could admit again (a bucket refuses until then whoever asks, so
 * the answer is the same without the call): a flooding key stops costing calls. When the object
 * cannot answer within `RATE_LIMIT_TIMEOUT_MS`, the isolate's own buckets answer, holding the
 * whole limit each (`fallbackShare` 1: an isolate cannot know how many others there are), as
 * without the binding.
 */
export class DurableRateLimits implements RateLimitStore {
  readonly fallbackShare = 1;
  readonly #namespace: DurableObjectNamespace<SharedStateObject>;
  readonly #refusedUntil = new Map<string, number>();
  readonly #reach: Reachability;

  constructor(namespace: DurableObjectNamespace<SharedStateObject>, log: (line: string) => void) {
    this.#namespace = namespace;
    this.#reach = new Reachability('rate limits', log);
  }

  async take(limit: string, key: string, policy: SharedPolicy): Promise<number | undefined> {
    const name = rateLimitObject(limit, key);
    const now = Date.now();
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
      return undefined;
    }
    this.#reach.answered();
    if (wait > 0) {
      if (this.#refusedUntil.size >= MAX_REFUSALS) this.#refusedUntil.delete(this.#refusedUntil.keys().next().value!);
      this.#refusedUntil.set(name, Date.now() + wait);
    }
    return wait;
  }
}
