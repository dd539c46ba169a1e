import type { FallbackReason, RateLimitStore, SharedBucket, SharedPolicy } from '../core/RateLimitStore.ts';
import { gcraArguments, gcraWaits } from './gcraScript.ts';
import type { RedisLink } from './redisLink.ts';

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
  /** `store.timeout`, named in the log line when Redis stops answering in time. */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Names the process in log lines (`worker 2`, `primary`). @default none */
  readonly label?: string;
  /** False where no request is served (the `--workers` primary): the log lines then speak of health, not limits. @default true */
  readonly servesRequests?: boolean;
}

/** Timeouts in a row after which Redis counts as down (the circuit opens): limits are answered locally at once. */
export const TIMEOUTS_TO_TRIP = 3;

/** While the circuit is open, one request at most this often is sent to Redis to see whether it answers again. */
export const CIRCUIT_RETRY_MS = 1_000;

/**
 * Rate limits kept in Redis for every instance: one GCRA script call per limited request, for all
 * its shared limits at once. While Redis cannot answer (not connected, an error, `store.timeout`
 * passed), the call resolves to undefined and the caller's local buckets answer; nothing waits for
 * a reconnection, and nothing needs re-syncing after one: the script's keys expire by themselves.
 * A Redis that hangs without closing the connection is a circuit breaker's case: after
 * `TIMEOUTS_TO_TRIP` timeouts in a row it counts as down (`switchyard_store_up` 0, one log line)
 * and requests are answered locally at once instead of each waiting `store.timeout`; one request
 * a second is still sent, and the first that Redis answers in time closes the circuit.
 */
export class RedisStore implements RateLimitStore {
  readonly fallbackShare: number;
  readonly #link: RedisLink;
  readonly #options: RedisStoreOptions;
  readonly #now: () => number;
  /** Undefined until the link first connects or fails, so a Redis unreachable from start-up is logged too. */
  #up: boolean | undefined;
  #wasUp: boolean;
  readonly #fallbacks: Record<FallbackReason, number> = { unreachable: 0, timeout: 0, error: 0 };
  #timeoutsInRow = 0;
  /** While the circuit is open: when the next trial request may go to Redis. */
  #retryAt: number | undefined;
  #trying = false;
  /** The last error logged, so a different one (a READONLY after a failover) is logged too, and a repeat is not. */
  #lastError: string | undefined;
  #closed = false;

  constructor(link: RedisLink, options: RedisStoreOptions) {
    this.#link = link;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.fallbackShare = options.fallbackShare;
    this.#up = link.ready || undefined;
    this.#wasUp = link.ready;
    link.onChange((ready, reason) => {
      if (this.#closed) return;
      this.#closeCircuit();
      this.#changed(ready, reason);
    });
  }

  get stats(): StoreStats {
    return { up: this.#up === true, fallbacks: { ...this.#fallbacks } };
  }

  async take(limit: string, key: string, policy: SharedPolicy): Promise<number | undefined> {
    return (await this.takeAll([{ limit, key, policy }]))?.[0];
  }

  takeAll(buckets: readonly SharedBucket[]): Promise<readonly number[] | undefined> {
    if (!this.#link.ready) return Promise.resolve(this.#fallback('unreachable'));
    if (this.#retryAt !== undefined) {
      if (this.#trying || this.#now() < this.#retryAt) return Promise.resolve(this.#fallback('unreachable'));
      this.#trying = true;
    }
    const keys = buckets.map(({ limit, key }) => `${this.#options.prefix}rl:${limit}:${key}`);
    return this.#link
      .gcra(keys, gcraArguments(buckets.map((bucket) => bucket.policy)))
      .then((reply) => {
        this.#answered();
        return gcraWaits(reply, keys.length);
      })
      // Whatever fails (the link, or a reply that is not the script's), the request is answered locally: never a rejection.
      .catch((error: unknown) => this.#failed(error instanceof Error ? error : new Error(String(error))));
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#link.close();
  }

  #answered(): void {
    this.#timeoutsInRow = 0;
    if (this.#retryAt === undefined) return;
    this.#closeCircuit();
    this.#changed(true);
  }

  #failed(error: Error): undefined {
    // The connection dropped with the command in flight: Redis answered nothing, and the link says so once.
    if (!this.#link.ready) return this.#fallback('unreachable');
    const reason: FallbackReason = /timed? ?out/i.test(error.message) ? 'timeout' : 'error';
    if (reason === 'error') {
      // Redis answered, if with an error: it does not hang.
      if (error.message !== this.#lastError) this.#log(`redis at ${this.#options.name} answered an error (${error.message}); limited requests are answered by the local buckets while it does`);
      this.#lastError = error.message;
      this.#answered();
    } else if (this.#trying) {
      this.#trying = false;
      this.#retryAt = this.#now() + CIRCUIT_RETRY_MS;
    } else if (++this.#timeoutsInRow >= TIMEOUTS_TO_TRIP && this.#retryAt === undefined) {
      this.#retryAt = this.#now() + CIRCUIT_RETRY_MS;
      const within = this.#options.timeoutMs === undefined ? '' : ` within ${this.#options.timeoutMs}ms`;
      this.#changed(false, `no answer${within}, ${this.#timeoutsInRow} times in a row`);
    }
    return this.#fallback(reason);
  }

  #closeCircuit(): void {
    this.#timeoutsInRow = 0;
    this.#retryAt = undefined;
    this.#trying = false;
  }

  #fallback(reason: FallbackReason): undefined {
    this.#fallbacks[reason]++;
    return undefined;
  }

  #changed(ready: boolean, reason?: string): void {
    if (ready === this.#up) return;
    this.#up = ready;
    const { name, fallbackShare, servesRequests = true } = this.#options;
    const again = this.#wasUp;
    if (ready) this.#wasUp = true;
    const what = servesRequests ? 'rate limits are' : 'health is';
    this.#log(
      ready
        ? `redis at ${name} is reachable; ${what} shared${again ? ' again' : ''}`
        : `redis at ${name} is unreachable${reason ? ` (${reason})` : ''}; ${servesRequests ? `rate limits fall back to local buckets holding ${fallbackShare} of each limit` : "the machine's health stays its own"}`,
    );
  }

  #log(line: string): void {
    const { label } = this.#options;
    this.#options.log(`store${label ? ` (${label})` : ''}: ${line}`);
  }
}
