import * as v from 'valibot';
import { parseServerAddress } from '../serverAddress.ts';
import { backendTls } from './backendTls.ts';
import { duration, headerName, jsonSchemaRule } from './common.ts';
import { wholeNumberPattern } from './wholeNumberPattern.ts';

const PORT = `0*(?:${wholeNumberPattern(1, 65535)})`;
const IPV6 = '\\[[0-9a-fA-F:.]+\\]';
/** What parseServerAddress takes, for editors: `host:port`, or `http(s)://host[:port][/base]` without credentials, query or fragment. */
const SERVER_ADDRESS_PATTERN = `^(?:(?:${IPV6}|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):${PORT}|[hH][tT][tT][pP][sS]?://(?:${IPV6}|[^\\s/?#@\\\\:\\[\\]]+)(?::(?:${PORT})?)?(?:/[^?#]*)?)$`;

const serverAddress = v.pipe(
  v.string(),
  // Parsed once: the parser's message, when it gives one, is the issue's.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const parsed = parseServerAddress(dataset.value);
    if (typeof parsed === 'string') addIssue({ message: parsed });
  }),
  jsonSchemaRule({ pattern: SERVER_ADDRESS_PATTERN }),
);

/** One `servers` entry: `host:port`, a URL, or `{ url, weight }`. */
export const server = v.union(
  [
    serverAddress,
    v.strictObject({
      url: v.pipe(serverAddress, v.description('The backend: `host:port` or `http(s)://host[:port][/base]`.')),
      weight: v.optional(
        v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000), v.description("The backend's share of requests against the others', 1-1000 (default 1); `round_robin` ignores it.")),
      ),
    }),
  ],
  'expected "host:port", an http(s) URL, or { url, weight }',
);

export const algorithm = v.picklist(
  ['random', 'round_robin', 'weighted', 'least_connections', 'power_of_two', 'consistent_hash'],
  (issue) => `${JSON.stringify(issue.input)} is not an algorithm; expected random, round_robin, weighted, least_connections, power_of_two or consistent_hash`,
);

/** How the balancer speaks to a route's backends. */
export const protocol = v.picklist(
  ['http1', 'http2', 'h2c'],
  (issue) => `${JSON.stringify(issue.input)} is not a protocol; expected http1, http2 (HTTP/2 over TLS, to https:// servers) or h2c (cleartext HTTP/2, to http:// servers)`,
);

/** What `consistent_hash` hashes: `client_ip`, `{ header: NAME }` or `{ cookie: NAME }`. */
export const hashOn = v.union(
  [
    v.literal('client_ip'),
    v.strictObject({ header: v.pipe(headerName, v.description('The request header whose value is hashed.')) }),
    v.strictObject({ cookie: v.pipe(v.string(), v.minLength(1), v.description('The cookie whose value is hashed.')) }),
  ],
  'expected client_ip, { header: NAME } or { cookie: NAME }',
);

/** What the route and top-level `timeouts` keys say of themselves (one text, so the key index has one row). */
export const TIMEOUTS_DESCRIPTION =
  "Time limits toward the backends (a route's override the top level's key by key) and, at the top level only, toward clients.";

export const timeouts = v.strictObject({
  connect: v.optional(v.pipe(duration, v.description('Longest wait to open the TCP (and TLS) connection to a backend (default 5s).'))),
  response_headers: v.optional(
    v.pipe(duration, v.description("Longest wait from sending the request to the backend's response headers (default 60s).")),
  ),
  body_idle: v.optional(v.pipe(duration, v.description("Longest pause between two chunks of the backend's response body (default 60s)."))),
});

const STATUS_RANGE = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/;

const statusForEditors = [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'string', pattern: ascendingStatusRangePattern() }];

/** `200`, `"200-399"`, or a list of those. */
export const statusRanges = v.pipe(
  v.union([v.number(), v.string(), v.array(v.union([v.number(), v.string()]))], 'expected a status such as 200, a range such as "200-399", or a list of them'),
  jsonSchemaRule({ anyOf: [...statusForEditors, { type: 'array', items: { anyOf: statusForEditors } }] }),
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
 * `200` or `"200-399"` with the low end at most the high one, as a pattern: the two ends equal, or
 * their first differing digit lower in the low end (back-references repeat the digits they share).
 */
function ascendingStatusRangePattern(): string {
  const firstDigitLower = (width: number, shared: string) =>
    Array.from({ length: 9 }, (_, digit) => `${digit}${'\\d'.repeat(width)}-${shared}[${digit + 1}-9]${'\\d'.repeat(width)}`).join('|');
  return (
    `^(?:[1-5]\\d\\d|([1-5]\\d\\d)-\\1|([1-5])(\\d)(?:${firstDigitLower(0, '\\2\\3')})|([1-5])(?:${firstDigitLower(1, '\\4')})` +
    '|1\\d\\d-[2-5]\\d\\d|2\\d\\d-[3-5]\\d\\d|3\\d\\d-[45]\\d\\d|4\\d\\d-5\\d\\d)$'
  );
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
    path: v.optional(
      v.pipe(
        v.string(),
        v.startsWith('/', 'a health check path starts with "/"'),
        v.description("The path probed with GET, after the backend's base path (default `/healthcheck`)."),
      ),
    ),
    interval: v.optional(v.pipe(duration, v.description('Time between two probes of a backend (default 5s).'))),
    timeout: v.optional(v.pipe(duration, v.description("Longest wait for a probe's answer (default 1s)."))),
    expected_status: v.optional(v.pipe(statusRanges, v.description('The statuses that pass: `200`, `"200-399"` (the default), or a list of those.'))),
    healthy_threshold: v.optional(v.pipe(count(100), v.description('Probes passed in a row that bring a down backend back, 1-100 (default 2).'))),
    unhealthy_threshold: v.optional(v.pipe(count(100), v.description('Probes failed in a row that take a backend down, 1-100 (default 3).'))),
    jitter: v.optional(v.pipe(duration, v.description('Most random delay added to each interval, so probes do not march in step (default a tenth of `interval`).'))),
  }),
  'expected false, true, or { path, interval, timeout, expected_status, healthy_threshold, unhealthy_threshold, jitter }',
);

/** Passive health (outlier detection): ejects a backend that fails real requests. */
export const passiveHealth = switchable(
  v.strictObject({
    failures: v.optional(v.pipe(count(1000), v.description('Failed requests in a row that eject a backend, 1-1000 (default 5).'))),
    statuses: v.optional(
      v.pipe(
        v.array(v.pipe(v.number(), v.integer(), v.minValue(500), v.maxValue(599))),
        v.description('Response statuses (500-599) that count as failures (default `[502, 503, 504]`).'),
      ),
    ),
    cooldown: v.optional(v.pipe(duration, v.description('How long a first ejection lasts; each one on probation lasts twice the one before (default 10s).'))),
    max_cooldown: v.optional(v.pipe(duration, v.description('The longest an ejection lasts (default 5m).'))),
  }),
  'expected false, true, or { failures, statuses, cooldown, max_cooldown }',
);

const retryCause = v.picklist(['connect_failure', 'timeout', 'reset'], 'expected connect_failure, timeout or reset');

/** Retries on another backend: `false` turns them off. */
export const retries = switchable(
  v.strictObject({
    attempts: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10), v.description('Attempts after the first, 0-10 (default 2; 0 turns retries off).')),
    ),
    on: v.optional(v.pipe(v.array(retryCause), v.description('The failures retried: `connect_failure`, `timeout`, `reset` (default all three).'))),
    budget_ratio: v.optional(
      v.pipe(v.number(), v.minValue(0), v.maxValue(1), v.description("Retries allowed as a share of the route's requests over 10 seconds, 0-1 (default 0.2).")),
    ),
    budget_min_per_second: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(0), v.description('Retries per second allowed whatever the ratio (default 10).')),
    ),
    max_buffered_body: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(0),
        v.maxValue(16 * 1024 * 1024),
        v.description('Largest request body, in bytes (at most 16 MiB), kept to be sent again (default 65536).'),
      ),
    ),
  }),
  'expected false, true, or { attempts, on, budget_ratio, budget_min_per_second, max_buffered_body }',
);

/** Sticky sessions: the balancer sets a cookie naming the backend and honours it while that backend is up. */
export const sticky = switchable(
  v.strictObject({
    cookie: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'a cookie name is a token (RFC 6265)'),
        v.description("The cookie's name (default `switchyard_backend`)."),
      ),
    ),
    max_age: v.optional(v.pipe(duration, v.description("The cookie's Max-Age; without it, a session cookie."))),
  }),
  'expected false, true, or { cookie, max_age }',
);

/** The keys of a pool besides its `servers`: on a route, on a named pool, or at the top level as every pool's default. */
export const poolSettingEntries = {
  algorithm: v.optional(
    v.pipe(algorithm, v.description('How a backend is picked: `random` (the default), `round_robin`, `weighted`, `least_connections`, `power_of_two` or `consistent_hash`.')),
  ),
  hash_on: v.optional(
    v.pipe(hashOn, v.description('What `consistent_hash` hashes: `client_ip` (the default), `{ header: NAME }` or `{ cookie: NAME }`; only with `algorithm: consistent_hash`.')),
  ),
  health_check: v.optional(
    v.pipe(healthCheck, v.description("Active probes of the route's backends: `true`, `false` (off), or settings; at the top level, every route's default.")),
  ),
  passive_health: v.optional(
    v.pipe(passiveHealth, v.description("Ejecting a backend that fails real requests: `true`, `false` (off), or settings; at the top level, every route's default.")),
  ),
  retries: v.optional(
    v.pipe(retries, v.description("Sending a failed request again, to another backend: `true`, `false` (off), or settings; at the top level, every route's default.")),
  ),
  sticky: v.optional(
    v.pipe(sticky, v.description("Keeping a client on one backend with a cookie (on a `split` route, on its side of the split): `false` (the default), `true`, or settings; at the top level, every pool's default.")),
  ),
  protocol: v.optional(
    v.pipe(
      protocol,
      v.description(
        "How the balancer speaks to the route's servers: `http1` (the default), `http2` (HTTP/2 over TLS, `https://` servers) or `h2c` (cleartext HTTP/2 with prior knowledge, `http://` servers); gRPC backends need `http2` or `h2c`.",
      ),
    ),
  ),
  tls: v.optional(
    v.pipe(backendTls, v.description("TLS to the route's `https://` servers: `{ ca, servername, verify, cert, key }`; at the top level, every route's default, field by field.")),
  ),
};

/** Keys that may be set on a route or once at the top level, as defaults for every route. */
export const poolDefaultEntries = {
  ...poolSettingEntries,
  timeouts: v.optional(v.pipe(timeouts, v.description(TIMEOUTS_DESCRIPTION))),
};

const servers = v.pipe(
  v.array(server),
  v.minLength(1, 'a pool needs at least one server'),
  v.description('The backends behind the route or pool, at least one: `host:port`, `http(s)://host[:port][/base]`, or `{ url, weight }`.'),
);

/** A route's own pool: `servers` is one of the route's targets (`TARGET_KEYS`), so optional here. */
export const poolEntries = {
  servers: v.optional(servers),
  ...poolDefaultEntries,
};

/** A pool of the top-level `pools` map: servers and the pool keys, without the route's `timeouts`. */
export const namedPool = v.strictObject({
  servers,
  ...poolSettingEntries,
});
