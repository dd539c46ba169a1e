import * as v from 'valibot';
import { duration } from './common.ts';

/** What `store.timeout` is unless set: a rate-limited request waits at most this long for Redis. */
export const DEFAULT_STORE_TIMEOUT_MS = 100;

/** What `store.fallback_share` is unless set: each instance's share of a limit while Redis is away. */
export const DEFAULT_FALLBACK_SHARE = 0.5;

/** What `store.prefix` is unless set. */
export const DEFAULT_STORE_PREFIX = 'switchyard:';

const redisUrl = v.pipe(
  v.string(),
  v.check((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, (issue) => `${JSON.stringify(redact(issue.input as string))} is not a redis:// or rediss:// URL with a host`),
  v.description('`redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, or `rediss://` for TLS. Write the password as `${env:NAME}`.'),
);

/**
 * State shared by every instance (docs/fleet.md): with it rate limits are global, and health
 * verdicts, ejections and admin drains reach every instance; without it each process keeps its own. Node and Deno only; Workers share through a Durable Object.
 */
export const store = v.strictObject({
  redis: redisUrl,
  prefix: v.optional(
    v.pipe(v.string(), v.minLength(1, 'a prefix is not empty'), v.description(`Put before every key and channel name (\`PREFIXrl:...\` for rate limits, \`PREFIXhealth\` for health), so several fleets can share one Redis (default \`${DEFAULT_STORE_PREFIX}\`).`)),
  ),
  timeout: v.optional(
    v.pipe(duration, v.description(`How long a rate-limited request waits for Redis before the local fallback answers (default ${DEFAULT_STORE_TIMEOUT_MS}ms).`)),
  ),
  fallback_share: v.optional(
    v.pipe(
      v.number(),
      v.check((share) => share > 0 && share <= 1, 'fallback_share is above 0 and at most 1'),
      v.description(`While Redis is unreachable each instance enforces this share of every limit on its own, from local buckets: 1/N for N instances keeps the total (default ${DEFAULT_FALLBACK_SHARE}).`),
    ),
  ),
});

/** The URL with its password replaced, for error messages and log lines. */
export function redact(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
