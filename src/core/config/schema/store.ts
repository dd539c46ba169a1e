import * as v from 'valibot';
import { duration } from './common.ts';

/** What `store.timeout` is unless set: a rate-limited request waits at most this long for Redis. */
export const DEFAULT_STORE_TIMEOUT_MS = 100;

/** The longest `store.timeout`: every limited request may wait this long while Redis hangs, until the circuit opens. */
export const MAX_STORE_TIMEOUT_MS = 5_000;

/** What `store.fallback_share` is unless set: each instance's share of a limit while Redis is away. */
export const DEFAULT_FALLBACK_SHARE = 0.5;

/** What `store.prefix` is unless set. */
export const DEFAULT_STORE_PREFIX = 'switchyard:';

/** Highest database number accepted: Redis's `databases` setting is an int; 16 databases unless configured. */
const MAX_DATABASE = 2 ** 31 - 1;

/**
 * What is wrong with `text` as `store.redis`, or undefined. The client reads only what this
 * accepts (src/store/redisLink.ts parses it into options itself): anything else (a database that
 * is not a number, a query string, which ioredis would read as options) is refused here, at load,
 * check and reload, rather than failing inside the client at run time.
 */
export function redisUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL (percent-encode `/`, `@`, `#`, `?` and `%` in the password)';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'is not a redis:// or rediss:// URL';
  if (url.hostname === '') return 'has no host';
  if (url.search !== '' || url.hash !== '') return 'has a query string or a fragment; write only `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`';
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !(/^\d{1,10}$/.test(db) && Number(db) <= MAX_DATABASE)) return `ends in "/${db.slice(0, 32)}", not a database number such as /0`;
  return undefined;
}

const redisUrl = v.pipe(
  v.string(),
  v.check((text) => redisUrlProblem(text) === undefined, (issue) => `${JSON.stringify(redact(issue.input as string))} ${redisUrlProblem(issue.input as string)}`),
  v.description('`redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, or `rediss://` for TLS; DB is a number. Write the password as `${env:NAME}`, percent-encoded where it holds `/ @ # ? %`.'),
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
    v.pipe(
      duration,
      v.check((ms) => ms <= MAX_STORE_TIMEOUT_MS, `a limited request waits at most ${MAX_STORE_TIMEOUT_MS / 1000}s for Redis`),
      v.description(`How long a rate-limited request waits for Redis before the local fallback answers (default ${DEFAULT_STORE_TIMEOUT_MS}ms, at most ${MAX_STORE_TIMEOUT_MS / 1000}s); a few such timeouts in a row count Redis as down until it answers again.`),
    ),
  ),
  fallback_share: v.optional(
    v.pipe(
      v.number(),
      v.check((share) => share > 0 && share <= 1, 'fallback_share is above 0 and at most 1'),
      v.description(`While Redis is unreachable each instance enforces this share of every limit on its own, from local buckets: 1/N for N instances keeps the total (default ${DEFAULT_FALLBACK_SHARE}).`),
    ),
  ),
});

/**
 * The URL with its password replaced, for error messages and log lines: whatever the scheme's
 * case, and even when the URL does not parse (a raw `/` or `@` in the password): everything
 * between the first `:` after `//` and the last `@` is hidden (too much, never too little).
 */
export function redact(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (!scheme) return text;
  const rest = text.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) return text;
  return `${scheme[0]}${rest.slice(0, colon)}:***${rest.slice(at)}`;
}
