import * as v from 'valibot';
import { parseServerAddress } from '../serverAddress.ts';
import { duration, headerName } from './common.ts';

const serverAddress = v.pipe(
  v.string(),
  v.check((text) => typeof parseServerAddress(text) !== 'string', (issue) => parseServerAddress(issue.input as string) as string),
);

/** One `servers` entry: `host:port`, a URL, or `{ url, weight }`. */
export const server = v.union(
  [
    serverAddress,
    v.strictObject({
      url: serverAddress,
      weight: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
    }),
  ],
  'expected "host:port", an http(s) URL, or { url, weight }',
);

export const algorithm = v.picklist(
  ['random', 'round_robin', 'weighted', 'least_connections', 'power_of_two', 'consistent_hash'],
  (issue) => `${JSON.stringify(issue.input)} is not an algorithm; expected random, round_robin, weighted, least_connections, power_of_two or consistent_hash`,
);

/** What `consistent_hash` hashes: `client_ip`, `{ header: NAME }` or `{ cookie: NAME }`. */
export const hashOn = v.union(
  [
    v.literal('client_ip'),
    v.strictObject({ header: headerName }),
    v.strictObject({ cookie: v.pipe(v.string(), v.minLength(1)) }),
  ],
  'expected client_ip, { header: NAME } or { cookie: NAME }',
);

export const timeouts = v.strictObject({
  /** Opening the TCP (and TLS) connection to a backend. */
  connect: v.optional(duration),
  /** From sending the request until the backend's response headers arrive. */
  response_headers: v.optional(duration),
  /** Longest pause between two chunks of the response body. */
  body_idle: v.optional(duration),
});

const STATUS_RANGE = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/;

/** `200`, `"200-399"`, or a list of those. */
export const statusRanges = v.pipe(
  v.union([v.number(), v.string(), v.array(v.union([v.number(), v.string()]))], 'expected a status such as 200, a range such as "200-399", or a list of them'),
  v.transform((input) => (Array.isArray(input) ? input : [input]).map(String)),
  v.check(
    (items) => items.every((item) => STATUS_RANGE.test(item) && rangeOf(item)[0] <= rangeOf(item)[1]),
    (issue) => `${JSON.stringify(issue.input)} is not a status or range such as 200 or "200-399"`,
  ),
  v.transform((items) => items.map(rangeOf)),
);

function rangeOf(text: string): [number, number] {
  const [, low, high] = STATUS_RANGE.exec(text) ?? [];
  return [Number(low), Number(high ?? low)];
}

/**
 * `false`, `true`, or an object of settings. The loader reports a mistake inside the object at its
 * own field (an unknown key with a suggestion), not as "expected false, true, or {...}".
 */
function switchable<const TEntries extends v.ObjectEntries>(object: v.StrictObjectSchema<TEntries, undefined>, message: string) {
  return v.union([v.boolean(), object], message);
}

const count = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max));

/** Active health checks: `false` turns them off, `true` or an object turns them on. */
export const healthCheck = switchable(
    v.strictObject({
      path: v.optional(v.pipe(v.string(), v.startsWith('/', 'a health check path starts with "/"'))),
      interval: v.optional(duration),
      timeout: v.optional(duration),
      expected_status: v.optional(statusRanges),
      healthy_threshold: v.optional(count(100)),
      unhealthy_threshold: v.optional(count(100)),
      jitter: v.optional(duration),
    }),
  'expected false, true, or { path, interval, timeout, expected_status, healthy_threshold, unhealthy_threshold, jitter }',
);

/** Passive health (outlier detection): ejects a backend that fails real requests. */
export const passiveHealth = switchable(
    v.strictObject({
      failures: v.optional(count(1000)),
      statuses: v.optional(v.array(v.pipe(v.number(), v.integer(), v.minValue(500), v.maxValue(599)))),
      cooldown: v.optional(duration),
      max_cooldown: v.optional(duration),
    }),
  'expected false, true, or { failures, statuses, cooldown, max_cooldown }',
);

const retryCause = v.picklist(['connect_failure', 'timeout', 'reset'], 'expected connect_failure, timeout or reset');

/** Retries on another backend: `false` turns them off. */
export const retries = switchable(
    v.strictObject({
      attempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10))),
      on: v.optional(v.array(retryCause)),
      budget_ratio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
      budget_min_per_second: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
      max_buffered_body: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(16 * 1024 * 1024))),
    }),
  'expected false, true, or { attempts, on, budget_ratio, budget_min_per_second, max_buffered_body }',
);

/** Sticky sessions: the balancer sets a cookie naming the backend and honours it while that backend is up. */
export const sticky = switchable(
  v.strictObject({
    cookie: v.optional(v.pipe(v.string(), v.regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'a cookie name is a token (RFC 6265)'))),
    max_age: v.optional(duration),
  }),
  'expected false, true, or { cookie, max_age }',
);

/** Pool keys that may be set on a route or once at the top level, as defaults for every route. */
export const poolDefaultEntries = {
  algorithm: v.optional(algorithm),
  hash_on: v.optional(hashOn),
  timeouts: v.optional(timeouts),
  health_check: v.optional(healthCheck),
  passive_health: v.optional(passiveHealth),
  retries: v.optional(retries),
  sticky: v.optional(sticky),
};

/** Keys that describe the pool of backends behind a route. */
export const poolEntries = {
  servers: v.pipe(v.array(server), v.minLength(1, 'a route needs at least one server')),
  ...poolDefaultEntries,
};
