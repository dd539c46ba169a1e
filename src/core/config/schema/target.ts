import * as v from 'valibot';
import { headerName, jsonSchemaRule } from './common.ts';

/** What a named pool may be called: letters, digits, `_`, `.` and `-`, as names in logs and URLs read well. */
export const POOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export const poolName = v.pipe(
  v.string(),
  v.regex(POOL_NAME, (issue) => `${JSON.stringify(issue.input)} is not a pool name (1-64 letters, digits, _ . and - only)`),
);

/** The statuses a `redirect` may answer with (RFC 9110 section 15.4). */
export const REDIRECT_STATUSES = [301, 302, 307, 308] as const;

export const redirect = v.strictObject({
  to: v.pipe(
    v.string(),
    v.regex(/^(?:\/|https?:\/\/|\$\{)[^\s\x00-\x1f\x7f]*$/i, 'a redirect goes to a path ("/new"), an http(s):// URL, or a template starting with ${...}, with no spaces'),
    v.description(
      'Where to: a path or URL, with the `${...}` variables of the header rules plus `${query}` (the query with its `?`, or nothing), such as `https://${host}${path}${query}`.',
    ),
  ),
  status: v.optional(
    v.pipe(
      v.picklist(REDIRECT_STATUSES, (issue) => `${JSON.stringify(issue.input)} is not a redirect status; expected 301, 302, 307 or 308`),
      v.description('301 or 308 (permanent), 302 or 307 (temporary); 307 and 308 keep the method and body (default 308).'),
    ),
  ),
});

const fieldValue = v.pipe(
  v.union([v.string(), v.number()], 'expected a text value'),
  v.transform(String),
  v.check((value) => /^[\t\x20-\x7e\x80-\xff]*$/.test(value), 'a header value holds no control characters (no line breaks)'),
  jsonSchemaRule({ anyOf: [{ type: 'string', pattern: '^[\t\x20-\x7e\x80-\xff]*$' }, { type: 'number' }] }),
);

export const respond = v.strictObject({
  status: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(200), v.maxValue(599), v.description('The status, 200-599 (default 200).')),
  ),
  body: v.optional(v.pipe(v.string(), v.description('The body, as written (default none); `text/plain; charset=utf-8` unless `headers` names a Content-Type.'))),
  headers: v.optional(
    v.pipe(
      v.record(headerName, fieldValue),
      v.description('Header fields of the answer, name to value, such as `Content-Type: text/html` or `Cache-Control: max-age=3600`.'),
    ),
  ),
});

export const splitSide = v.strictObject({
  pool: v.pipe(poolName, v.description('A pool of the top-level `pools` map.')),
  weight: v.pipe(
    v.number(),
    v.integer(),
    v.minValue(0),
    v.maxValue(1000),
    v.description("The side's share of requests against the others', 0-1000 (0 sends it nothing)."),
  ),
});

/** The keys that say where a route's requests go: exactly one of these and `servers` per route. */
export const targetEntries = {
  pool: v.optional(v.pipe(poolName, v.description('A pool of the top-level `pools` map, instead of `servers`; routes naming one pool share it (health, in-flight counts, ejections).'))),
  split: v.optional(
    v.pipe(
      v.array(splitSide),
      v.minLength(1, 'a split needs at least one side'),
      v.description('Named pools sharing the requests by weight, instead of `pool`: `[{ pool, weight }, ...]`; with `sticky`, a client stays on its side.'),
    ),
  ),
  redirect: v.optional(v.pipe(redirect, v.description('Answer every request with a redirect instead of forwarding it: `{ to, status }`.'))),
  respond: v.optional(v.pipe(respond, v.description('Answer every request with a fixed answer instead of forwarding it: `{ status, body, headers }`.'))),
};

/** The keys of which a route has exactly one. */
export const TARGET_KEYS = ['servers', 'pool', 'split', 'redirect', 'respond'] as const;
