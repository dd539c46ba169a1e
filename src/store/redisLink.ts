import { GCRA_SCRIPT } from './gcraScript.ts';

/**
 * What the store needs of a Redis connection (`redisLink` makes one from ioredis): its state, its
 * transitions, the GCRA script for rate limits, and the hash and channel that share health.
 */
export interface RedisLink {
  /** `ready` when commands can be sent now. */
  readonly ready: boolean;
  /** Called with `true` when the link becomes ready, `false` with the reason when it is lost. */
  onChange(listener: (ready: boolean, reason?: string) => void): void;
  /** Runs the GCRA script on `keys` (`gcraArguments` of their policies); rejects on timeout, a lost connection or a Redis error. */
  gcra(keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /**
   * Publishes `message` on `channel`; with `record`, in one transaction (MULTI) with setting
   * `record.field` of the hash `record.key` to `record.value`, so a reader of the hash never
   * misses what a subscriber heard. Rejects as `gcra` does.
   */
  announce(channel: string, message: string, record?: HashRecord): Promise<void>;
  /** Every field of the hash `key`. */
  readHash(key: string): Promise<Record<string, string>>;
  /**
   * Subscribes to `channel` on a second connection (a subscribed connection takes no other
   * command); once per link. `subscribed` runs each time the subscription is made, after every
   * reconnection too: what was published meanwhile is lost, so that is when to read the hash.
   */
  subscribe(channel: string, listener: ChannelListener): void;
  close(): Promise<void>;
}

/** A field of a hash and its new value. */
export interface HashRecord {
  readonly key: string;
  readonly field: string;
  readonly value: string;
}

export interface ChannelListener {
  heard(message: string): void;
  subscribed(): void;
  /** The subscription was refused (such as NOPERM: the Redis user may not use the channel); it is tried again later. */
  refused(reason: string): void;
}


/** The part of ioredis's `Redis` class this link uses (ioredis 6, https://github.com/redis/ioredis). */
export interface IoRedisClient {
  readonly status: string;
  on(event: 'ready' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): void;
  multi(): IoRedisTransaction;
  hgetall(key: string): Promise<Record<string, string>>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  duplicate(options: Record<string, unknown>): IoRedisClient;
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
}

/** The part of ioredis's MULTI this link uses. */
export interface IoRedisTransaction {
  hset(key: string, field: string, value: string): IoRedisTransaction;
  publish(channel: string, message: string): IoRedisTransaction;
  exec(): Promise<unknown>;
}

/** ioredis's constructor: `import { Redis } from 'ioredis'`, passed in by the entry point. */
export type IoRedisConstructor = new (options: Record<string, unknown>) => IoRedisClient;

/**
 * ioredis's connection options for a `store.redis` URL the schema accepted
 * (`redisUrlProblem`): parsed here rather than by ioredis, which reads a path that is not a
 * number as database `NaN` and a query string as options of its own.
 */
export function redisAddress(url: string): Record<string, unknown> {
  const parsed = new URL(url);
  const secure = parsed.protocol.toLowerCase() === 'rediss:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
    db: db === '' ? 0 : Number(db),
    ...(secure && { tls: {} }),
  };
}

/**
 * Connects to `url` with the settings a balancer needs, which are not ioredis's defaults: no
 * offline queue and no retries per request (a request never waits for Redis to come back),
 * `timeoutMs` per command (`store.timeout`), reconnection forever with a backoff capped at 2 s.
 * Commands are pipelined (sent without waiting for the replies before them) but not batched by
 * event-loop turn: ioredis's `enableAutoPipelining` cost more CPU per call (13.5 against 12.9 us)
 * and gave fewer calls per second (22,000-24,000 against 34,000-45,000) with 50 callers on this
 * machine. Never throws: the link is simply not ready until Redis answers.
 */
export function redisLink(Redis: IoRedisConstructor, url: string, timeoutMs: number): RedisLink {
  const client = new Redis({
    ...redisAddress(url),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  });
  // ioredis runs it by EVALSHA and sends the source (EVAL) once after a NOSCRIPT. The number of
  // keys varies (one per shared limit of a request), so it comes first in each call.
  client.defineCommand('switchyardGcra', { lua: GCRA_SCRIPT });
  const listeners: ((ready: boolean, reason?: string) => void)[] = [];
  let lastError: string | undefined;
  client.on('error', (error) => void (lastError = error.code ?? error.message));
  client.on('ready', () => listeners.forEach((listener) => listener(true)));
  client.on('close', () => listeners.forEach((listener) => listener(false, lastError)));
  const gcra = (client as unknown as { switchyardGcra(keys: number, ...keysThenArgs: string[]): Promise<unknown> }).switchyardGcra.bind(client);
  let subscriber: Subscriber | undefined;
  return {
    get ready() {
      return client.status === 'ready';
    },
    onChange: (listener) => void listeners.push(listener),
    gcra: (keys, args) => gcra(keys.length, ...keys, ...args),
    announce: async (channel, message, record) => {
      if (!record) return void (await client.publish(channel, message));
      await client.multi().hset(record.key, record.field, record.value).publish(channel, message).exec();
    },
    readHash: (key) => client.hgetall(key),
    subscribe: (channel, listener) => {
      if (subscriber) throw new Error('a link subscribes to one channel');
      subscriber = subscribe(client, channel, listener);
    },
    close: async () => {
      subscriber?.stop();
      await Promise.all([client, subscriber?.client].map((each) => each && closeClient(each)));
    },
  };
}

/** How long a closing link waits for Redis to acknowledge QUIT before it drops the connection. */
const QUIT_GRACE_MS = 500;

/**
 * Closes a client for good: QUIT when it is connected (commands sent before it are answered),
 * bounded by `QUIT_GRACE_MS` for a Redis that hangs; then, or at once when it is not connected
 * (QUIT would be refused without an offline queue), `disconnect`, which also ends the
 * reconnection attempts: a closed link must never come back.
 */
async function closeClient(client: IoRedisClient): Promise<void> {
  if (client.status === 'ready') {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_GRACE_MS)));
    await Promise.race([client.quit().catch(() => undefined), grace]);
    clearTimeout(timer);
  }
  client.disconnect();
}

/** A subscription's longest wait before it is tried again, after refusals in a row. */
const MAX_SUBSCRIBE_RETRY_MS = 60_000;

interface Subscriber {
  readonly client: IoRedisClient;
  /** Ends the retries (at close). */
  stop(): void;
}

/**
 * The subscriber connection: subscribes anew on every connection rather than letting ioredis
 * resubscribe by itself (`autoResubscribe`), so that `subscribed` says when messages flow again.
 * A refused subscription (an ACL without the channel) is tried again on the same connection, 1 s
 * later and twice as long after each refusal in a row, up to a minute: dropping the connection
 * instead would reconnect at once, ioredis's backoff starting over on every `ready`. Its
 * connection errors are the main connection's too, which reports them.
 */
function subscribe(client: IoRedisClient, channel: string, listener: ChannelListener): Subscriber {
  const subscriber = client.duplicate({ autoResubscribe: false, enableOfflineQueue: false, commandTimeout: 5_000 });
  let refusals = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const attempt = () =>
    void subscriber.subscribe(channel).then(
      () => {
        refusals = 0;
        listener.subscribed();
      },
      (error: Error) => {
        listener.refused(error.message);
        // Not ready: the connection was lost, and its next `ready` tries again.
        if (subscriber.status !== 'ready') return;
        retry = setTimeout(attempt, Math.min(1_000 * 2 ** refusals++, MAX_SUBSCRIBE_RETRY_MS));
        (retry as { unref?: () => void }).unref?.();
      },
    );
  subscriber.on('error', () => {});
  subscriber.on('message', (from, message) => from === channel && listener.heard(message));
  subscriber.on('ready', () => {
    clearTimeout(retry);
    attempt();
  });
  return { client: subscriber, stop: () => clearTimeout(retry) };
}
