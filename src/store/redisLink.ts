import type { RedisLink } from './RedisStore.ts';
import { GCRA_SCRIPT } from './gcraScript.ts';

/** The part of ioredis's `Redis` class this link uses (ioredis 6, https://github.com/redis/ioredis). */
export interface IoRedisClient {
  readonly status: string;
  on(event: 'ready' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  quit(): Promise<unknown>;
}

/** ioredis's constructor: `import { Redis } from 'ioredis'`, passed in by the entry point. */
export type IoRedisConstructor = new (url: string, options: Record<string, unknown>) => IoRedisClient;

/**
 * Connects to `url` with the settings a balancer needs, which are not ioredis's defaults: no
 * offline queue and no retries per request (a request never waits for Redis to come back),
 * `timeoutMs` per command (`store.timeout`), reconnection forever with a backoff capped at 2 s,
 * and automatic pipelining (commands of one tick leave in one write). Never throws: the link is
 * simply not ready until Redis answers.
 */
export function redisLink(Redis: IoRedisConstructor, url: string, timeoutMs: number): RedisLink {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
    enableAutoPipelining: true,
  });
  // ioredis runs it by EVALSHA and sends the source (EVAL) once after a NOSCRIPT.
  client.defineCommand('switchyardGcra', { numberOfKeys: 1, lua: GCRA_SCRIPT });
  const listeners: ((ready: boolean, reason?: string) => void)[] = [];
  let lastError: string | undefined;
  client.on('error', (error) => void (lastError = error.code ?? error.message));
  client.on('ready', () => listeners.forEach((listener) => listener(true)));
  client.on('close', () => listeners.forEach((listener) => listener(false, lastError)));
  const gcra = (client as unknown as { switchyardGcra(key: string, ...args: string[]): Promise<unknown> }).switchyardGcra.bind(client);
  return {
    get ready() {
      return client.status === 'ready';
    },
    onChange: (listener) => void listeners.push(listener),
    gcra: (key, args) => gcra(key, ...args),
    close: async () => void (await client.quit().catch(() => undefined)),
  };
}
