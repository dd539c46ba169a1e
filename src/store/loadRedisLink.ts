import type { RedisLink } from './RedisStore.ts';
import { redisLink, type IoRedisConstructor } from './redisLink.ts';

let ioredis: Promise<IoRedisConstructor> | undefined;

/** ioredis, imported the first time a config has `store` (a balancer without one never loads it). */
export function importIoRedis(): Promise<IoRedisConstructor> {
  ioredis ??= import('ioredis').then((module) => module.Redis as unknown as IoRedisConstructor);
  return ioredis;
}

/**
 * A link that is not ready until ioredis is imported and Redis answers; `redisLink` behind it. If
 * ioredis cannot be imported, one log line says so and the link stays unready: rate limits then
 * stay with the local buckets, as while Redis is down, and nothing fails.
 */
export function loadRedisLink(url: string, timeoutMs: number, log: (line: string) => void, load = importIoRedis): RedisLink {
  const listeners: ((ready: boolean, reason?: string) => void)[] = [];
  let link: RedisLink | undefined;
  let closed = false;
  load().then(
    (Redis) => {
      if (closed) return;
      link = redisLink(Redis, url, timeoutMs);
      link.onChange((ready, reason) => listeners.forEach((listener) => listener(ready, reason)));
    },
    (error: unknown) => log(`store: cannot load ioredis (${error instanceof Error ? error.message : String(error)}); rate limits stay local until a restart with ioredis installed (npm install ioredis)`),
  );
  return {
    get ready() {
      return link?.ready ?? false;
    },
    onChange: (listener) => void listeners.push(listener),
    gcra: (key, args) => (link ? link.gcra(key, args) : Promise.reject(new Error('not connected'))),
    close: async () => {
      closed = true;
      await link?.close();
    },
  };
}
