import type { RateLimitStore, SharedBucket, SharedPolicy } from '../core/ratelimit/RateLimitStore.ts';
import { gcraArguments, gcraWaits } from './gcraScript.ts';
import type { RedisLink } from './redisLink.ts';

/** Why a limited request was answered by the local buckets. */
export type FallbackReason = 'unreachable' | 'timeout' | 'error';

/** What the store has done, for /metrics (`switchyard_store_up`, `switchyard_store_fallbacks_total{reason}`). */
export interface StoreStats {
  readonly up: boolean;
  readonly fallbacks: Readonly<Record<FallbackReason, number>>;
  /** Whether health is shared now (`FleetHealth.shared`); absent in a process that shares no health (a `--workers` worker). */
  readonly healthShared?: boolean;
}

export interface RedisStoreOptions {
  /** Before every key (`store.prefix`). */
  readonly prefix: string;
  /** `store.fallback_share`. */
  readonly fallbackShare: number;
  /** Where the URL is named in log lines, password hidden. */
  readonly name: string;
  /** One line per change of state, never per request. */
  readonly log: (line: string) => void;
}

/**
 * Rate limits kept in Redis for every instance: one GCRA script call per limited request. While
 * Redis cannot answer (not connected, `store.timeout` passed, an error), `take` resolves to
 * undefined at once and the caller's local buckets answer; nothing waits for a reconnection, and
 * nothing needs re-syncing after one: the script's keys expire by themselves.
 */
export class RedisStore implements RateLimitStore {
  readonly fallbackShare: number;
  readonly #link: RedisLink;
  readonly #options: RedisStoreOptions;
  /** Undefined until the link first connects or fails, so a Redis unreachable from start-up is logged too. */
  #up: boolean | undefined;
  #wasUp: boolean;
  readonly #fallbacks: Record<FallbackReason, number> = { unreachable: 0, timeout: 0, error: 0 };

  constructor(link: RedisLink, options: RedisStoreOptions) {
    this.#link = link;
    this.#options = options;
    this.fallbackShare = options.fallbackShare;
    this.#up = link.ready || undefined;
    this.#wasUp = link.ready;
    link.onChange((ready, reason) => this.#changed(ready, reason));
  }

  get stats(): StoreStats {
    return { up: this.#up === true, fallbacks: { ...this.#fallbacks } };
  }

  async take(limit: string, key: string, policy: SharedPolicy): Promise<number | undefined> {
    return (await this.takeAll([{ limit, key, policy }]))?.[0];
  }

  takeAll(buckets: readonly SharedBucket[]): Promise<readonly number[] | undefined> {
    if (!this.#link.ready) return Promise.resolve(this.#fallback('unreachable'));
    const keys = buckets.map(({ limit, key }) => `${this.#options.prefix}rl:${limit}:${key}`);
    return this.#link
      .gcra(keys, gcraArguments(buckets.map((bucket) => bucket.policy)))
      .then((reply) => gcraWaits(reply, keys.length))
      // Whatever fails (the link, or a reply that is not the script's), the request is answered locally: never a rejection.
      .catch((error: unknown) => this.#fallback(reasonOf(error), error instanceof Error ? error : new Error(String(error))));
  }

  close(): Promise<void> {
    return this.#link.close();
  }

  #fallback(reason: FallbackReason, error?: Error): undefined {
    this.#fallbacks[reason]++;
    // A timeout or an error on a link that stays up is counted, not logged per request.
    if (error && reason === 'error' && this.#fallbacks.error === 1) this.#options.log(`store: redis at ${this.#options.name} answered an error (${error.message}); that request was limited by the local buckets`);
    return undefined;
  }

  #changed(ready: boolean, reason?: string): void {
    if (ready === this.#up) return;
    this.#up = ready;
    const { name, fallbackShare } = this.#options;
    const again = this.#wasUp;
    if (ready) this.#wasUp = true;
    this.#options.log(
      ready
        ? `store: redis at ${name} is reachable; rate limits are shared${again ? ' again' : ''}`
        : `store: redis at ${name} is unreachable${reason ? ` (${reason})` : ''}; rate limits fall back to local buckets holding ${fallbackShare} of each limit`,
    );
  }
}

function reasonOf(error: unknown): FallbackReason {
  return error instanceof Error && /timed? ?out/i.test(error.message) ? 'timeout' : 'error';
}
