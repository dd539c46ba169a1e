import type { ChannelListener, HashRecord, RedisLink } from '../../src/store/redisLink.ts';

/** For a fake link whose test shares no health: its health commands fail as while Redis is away. */
export const noHealthSharing: Pick<RedisLink, 'announce' | 'readHash' | 'subscribe'> = {
  announce: () => Promise.reject(new Error('not connected')),
  readHash: () => Promise.reject(new Error('not connected')),
  subscribe: () => {},
};

/**
 * One Redis in memory for several instances' links: hashes, a channel per name, and a switch
 * that takes it away and brings it back (emptied, as a Redis without persistence restarts).
 * Delivery is synchronous, so a test sees the state right after the call that caused it.
 */
export class FakeRedis {
  readonly hashes = new Map<string, Map<string, string>>();
  /** Every message published, by channel. */
  readonly published: { channel: string; message: string }[] = [];
  #up = true;
  readonly #links: FakeLink[] = [];

  get up(): boolean {
    return this.#up;
  }

  /** A new instance's link; ready (and subscribed once it subscribes) while the fake is up. */
  link(): RedisLink {
    const link = new FakeLink(this);
    this.#links.push(link);
    return link;
  }

  /** Takes Redis away: every link loses its connection. */
  stop(): void {
    this.#up = false;
    for (const link of this.#links) link.changed(false);
  }

  /** Brings it back, `empty` when it lost its data; every link reconnects and subscribes again. */
  start(empty = true): void {
    if (empty) this.hashes.clear();
    this.#up = true;
    for (const link of this.#links) link.changed(true);
  }

  deliver(channel: string, message: string): void {
    this.published.push({ channel, message });
    for (const link of this.#links) link.deliver(channel, message);
  }
}

class FakeLink implements RedisLink {
  readonly #redis: FakeRedis;
  readonly #listeners: ((ready: boolean) => void)[] = [];
  #subscription: [string, ChannelListener] | undefined;
  #closed = false;

  constructor(redis: FakeRedis) {
    this.#redis = redis;
  }

  get ready(): boolean {
    return this.#redis.up && !this.#closed;
  }

  onChange(listener: (ready: boolean) => void): void {
    this.#listeners.push(listener);
  }

  gcra(keys: readonly string[]): Promise<unknown> {
    return Promise.resolve(keys.map(() => 0));
  }

  async announce(channel: string, message: string, record?: HashRecord): Promise<void> {
    if (!this.ready) throw new Error('not connected');
    if (record) {
      const hash = this.#redis.hashes.get(record.key) ?? new Map<string, string>();
      this.#redis.hashes.set(record.key, hash);
      hash.set(record.field, record.value);
    }
    this.#redis.deliver(channel, message);
  }

  async readHash(key: string): Promise<Record<string, string>> {
    if (!this.ready) throw new Error('not connected');
    return Object.fromEntries(this.#redis.hashes.get(key) ?? []);
  }

  subscribe(channel: string, listener: ChannelListener): void {
    this.#subscription = [channel, listener];
    if (this.ready) listener.subscribed();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  changed(ready: boolean): void {
    if (this.#closed) return;
    for (const listener of this.#listeners) listener(ready);
    if (ready) this.#subscription?.[1].subscribed();
  }

  deliver(channel: string, message: string): void {
    if (this.ready && this.#subscription?.[0] === channel) this.#subscription[1].heard(message);
  }
}
