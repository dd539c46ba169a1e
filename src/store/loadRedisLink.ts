import { redact } from '../core/config/schema/store.ts';
import { redisLink, type ChannelListener, type IoRedisConstructor, type RedisLink } from './redisLink.ts';

let ioredis: Promise<IoRedisConstructor> | undefined;

/** ioredis, imported the first time a config has `store` (a balancer without one never loads it). */
export function importIoRedis(): Promise<IoRedisConstructor> {
  ioredis ??= import('ioredis').then((module) => module.Redis as unknown as IoRedisConstructor);
  return ioredis;
}

/**
 * A link that is not ready until ioredis is imported and Redis answers; `redisLink` behind it. If
 * ioredis cannot be imported, one log line says so and the link stays unready: rate limits and
 * health then stay local, as while Redis is down, and nothing fails.
 */
export function loadRedisLink(url: string, timeoutMs: number, log: (line: string) => void, load = importIoRedis): RedisLink {
  const listeners: ((ready: boolean, reason?: string) => void)[] = [];
  let link: RedisLink | undefined;
  let subscription: [string, ChannelListener] | undefined;
  let closed = false;
  load().then(
    (Redis) => {
      if (closed) return;
      link = redisLink(Redis, url, timeoutMs);
      link.onChange((ready, reason) => listeners.forEach((listener) => listener(ready, reason)));
      if (subscription) link.subscribe(...subscription);
    },
    (error: unknown) => log(`store: cannot load ioredis (${messageOf(error)}); rate limits and health stay local until a restart with ioredis installed (npm install ioredis)`),
  )
    // The schema accepted the URL, so this is the client's own refusal: the store stays local rather than taking the process down.
    .catch((error: unknown) => log(`store: redis at ${redact(url)} cannot be used (${messageOf(error)}); rate limits and health stay local`));
  return {
    get ready() {
      return link?.ready ?? false;
    },
    onChange: (listener) => void listeners.push(listener),
    gcra: (keys, args) => (link ? link.gcra(keys, args) : notConnected()),
    announce: (...args) => (link ? link.announce(...args) : notConnected()),
    readHash: (key) => (link ? link.readHash(key) : notConnected()),
    subscribe: (channel, listener) => (link ? link.subscribe(channel, listener) : void (subscription = [channel, listener])),
    close: async () => {
      closed = true;
      await link?.close();
    },
  };
}

const notConnected = () => Promise.reject(new Error('not connected'));

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
