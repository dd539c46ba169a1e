import type { Config } from '../core/config/schema/index.ts';
import { DEFAULT_FALLBACK_SHARE, DEFAULT_STORE_PREFIX, DEFAULT_STORE_TIMEOUT_MS, redact } from '../core/config/schema/store.ts';
import type { FallbackReason, RateLimitStore } from '../core/RateLimitStore.ts';
import { RedisStore, type StoreStats } from './RedisStore.ts';
import type { RedisLink } from './redisLink.ts';

/** Which process of an instance holds the stores (`serve --workers`): one process unless told. */
export interface ProcessRole {
  /** The workers of this instance (`serve --workers N`): each falls back to `fallback_share / N` of a limit. @default 1 */
  readonly processes?: number;
  /** Names the process in the store's log lines (`worker 2`, `primary`). @default none */
  readonly label?: string;
  /** False for the `--workers` primary, which serves no request: its link shares health only. @default true */
  readonly servesRequests?: boolean;
}

/** `store` as a config says it, defaults filled in. */
export interface StoreSettings {
  readonly url: string;
  readonly prefix: string;
  readonly timeoutMs: number;
  readonly fallbackShare: number;
}

/** The store settings of a config, or undefined when it has no `store`. */
export function storeSettings(config: Config): StoreSettings | undefined {
  const { store } = config;
  if (!store) return undefined;
  return {
    url: store.redis,
    prefix: store.prefix ?? DEFAULT_STORE_PREFIX,
    timeoutMs: store.timeout ?? DEFAULT_STORE_TIMEOUT_MS,
    fallbackShare: store.fallback_share ?? DEFAULT_FALLBACK_SHARE,
  };
}

/** The link of the store in use and its key prefix: what health is shared through (`FleetHealth`). */
export interface SharedLink {
  readonly link: RedisLink;
  readonly prefix: string;
}

/** Opens a link to Redis at `url` (src/store/redisLink.ts with ioredis; a fake in tests). */
export type LinkOpener = (url: string, timeoutMs: number) => RedisLink;

/**
 * The store a config's rate limits use, kept across reloads: a reload with the same `store`
 * settings compiles against the store in use (same connection, same state); one that changes
 * them gets a new store, which replaces the old one (closed then) only when the reload is
 * applied, and is closed at once when the reload is refused. `LiveConfig` drives it.
 */
export class SharedStores {
  readonly #open: LinkOpener;
  readonly #log: (line: string) => void;
  #current: Made | undefined;
  /** Stores made for a reload not yet applied or refused. */
  readonly #pending = new Map<RateLimitStore, Made>();
  readonly #linkListeners: ((shared: SharedLink | undefined) => void)[] = [];
  /** Fallbacks counted by stores closed since, so the counter never goes backwards. */
  readonly #retired: Record<FallbackReason, number> = { unreachable: 0, timeout: 0, error: 0 };

  readonly #process: ProcessRole;

  constructor(open: LinkOpener, log: (line: string) => void, process: ProcessRole = {}) {
    this.#open = open;
    this.#log = log;
    this.#process = process;
  }

  /** The store for a config: the one in use when its settings are unchanged, else a new one. */
  for(config: Config): RateLimitStore | undefined {
    const settings = storeSettings(config);
    if (!settings) return undefined;
    const key = JSON.stringify(settings);
    if (this.#current?.key === key) return this.#current.store;
    for (const made of this.#pending.values()) if (made.key === key) return made.store;
    const name = redact(settings.url);
    const link = this.#open(settings.url, settings.timeoutMs);
    const { processes = 1, label, servesRequests = true } = this.#process;
    const store = new RedisStore(link, { prefix: settings.prefix, fallbackShare: settings.fallbackShare / processes, name, log: this.#log, timeoutMs: settings.timeoutMs, label, servesRequests });
    this.#pending.set(store, { key, store, shared: { link, prefix: settings.prefix } });
    return store;
  }

  /** The config compiled against `store` (or none) is now in use: the store it replaces is closed. */
  commit(store: RateLimitStore | undefined): void {
    const made = store && this.#pending.get(store);
    if (store && !made && store === this.#current?.store) return;
    if (made) this.#pending.delete(store!);
    const previous = this.#current;
    this.#current = made;
    if (previous === made) return;
    for (const listener of this.#linkListeners) listener(made?.shared);
    if (previous) this.#retire(previous.store);
  }

  /** Calls `listener` with the link in use now and again each time a reload changes it (undefined: no store). */
  onLink(listener: (shared: SharedLink | undefined) => void): void {
    this.#linkListeners.push(listener);
    listener(this.#current?.shared);
  }

  /** The config compiled against `store` was refused: a store made for it alone is closed. */
  discard(store: RateLimitStore | undefined): void {
    const made = store && this.#pending.get(store);
    if (!made) return;
    this.#pending.delete(store!);
    void made.store.close();
  }

  /** The store in use's state and every fallback counted since start-up; undefined without a store. */
  get stats(): StoreStats | undefined {
    const current = this.#current?.store.stats;
    if (!current) return undefined;
    const fallbacks = { ...this.#retired };
    for (const reason of Object.keys(fallbacks) as FallbackReason[]) fallbacks[reason] += current.fallbacks[reason];
    return { up: current.up, fallbacks };
  }

  /** Closes every store (at stop). */
  async close(): Promise<void> {
    const stores = [...this.#pending.values(), ...(this.#current ? [this.#current] : [])].map((made) => made.store);
    this.#pending.clear();
    this.#current = undefined;
    for (const listener of this.#linkListeners) listener(undefined);
    await Promise.all(stores.map((store) => store.close()));
  }

  #retire(store: RedisStore): void {
    const { fallbacks } = store.stats;
    for (const reason of Object.keys(fallbacks) as FallbackReason[]) this.#retired[reason] += fallbacks[reason];
    void store.close();
  }
}

interface Made {
  readonly key: string;
  readonly store: RedisStore;
  readonly shared: SharedLink;
}
