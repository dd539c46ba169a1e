import * as v from 'valibot';
import { compress } from './compress.ts';
import { duration, headerName, nameList, stringMap } from './common.ts';

const oneOrMany = v.pipe(
  v.union([v.string(), v.array(v.string())], 'expected a text or a list of texts'),
  v.transform((input) => (Array.isArray(input) ? input : [input])),
);

/**
 * Header rules for requests or responses. `add` is the tutorial's spelling and, as there, replaces
 * any value already present: it is the same as `set`. `append` adds a value and keeps the others.
 */
export const headerOperations = {
  add: v.optional(v.pipe(stringMap, v.description("Fields to set, replacing any value present (the tutorial's word; the same as `set`)."))),
  set: v.optional(v.pipe(stringMap, v.description('Fields to set: a value present is replaced, an absent field added.'))),
  append: v.optional(v.pipe(stringMap, v.description('Values to add to a field, keeping those present.'))),
  remove: v.optional(v.pipe(nameList, v.description('Fields to remove: a list of names, or a map whose keys are the names.'))),
};

export const headerRules = v.strictObject(headerOperations);

/** Query rules: `add` (the tutorial's, replaces like `set`), `set`, `append`, `remove`. */
export const paramRules = v.strictObject({
  add: v.optional(v.pipe(stringMap, v.description("Parameters to set, replacing every occurrence (the tutorial's word; the same as `set`)."))),
  set: v.optional(v.pipe(stringMap, v.description('Parameters to set: every occurrence removed and one added at the end.'))),
  append: v.optional(v.pipe(stringMap, v.description('Parameters to add at the end, keeping the others.'))),
  remove: v.optional(v.pipe(nameList, v.description('Parameters to remove: a list of names, or a map whose keys are the names.'))),
});

export const regexRewrite = v.strictObject({
  pattern: v.pipe(v.string(), v.description('A JavaScript regular expression, matched against the whole path.')),
  replacement: v.pipe(v.string(), v.description('What each match becomes: `$1` and `$<name>` are captures, `$$` is a `$`.')),
});

/** Path rewrites, applied in this order: `strip_prefix`, `replace`, `regex`. */
export const rewriteRules = v.strictObject({
  strip_prefix: v.optional(
    v.pipe(v.string(), v.startsWith('/', 'a prefix to strip starts with "/"'), v.description('A prefix removed on a segment boundary: `/api/x` becomes `/x`.')),
  ),
  replace: v.optional(v.pipe(stringMap, v.description('Whole segments replaced, as `{ old: new }`: `v1: v2` turns `/api/v1` into `/api/v2`.'))),
  regex: v.optional(v.pipe(v.array(regexRewrite), v.description('Regular expressions applied in order, each `{ pattern, replacement }`.'))),
});

export const firewallRules = v.strictObject({
  ip_reject: v.optional(v.pipe(v.array(v.string()), v.description('Client addresses and CIDR ranges refused.'))),
  ip_allow: v.optional(v.pipe(v.array(v.string()), v.description('The only client addresses and CIDR ranges let through.'))),
  path_reject: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.startsWith('/', 'a rejected path starts with "/"'))),
      v.description('Paths refused, with everything under them on a segment boundary.'),
    ),
  ),
  method_allow: v.optional(v.pipe(v.array(v.string()), v.description('The only methods let through (allowing `GET` allows `HEAD`).'))),
  header_reject: v.optional(
    v.pipe(v.record(v.string(), oneOrMany), v.description('Header names, each with a pattern or a list of them: a request whose value matches is refused.')),
  ),
  user_agent_reject: v.optional(v.pipe(oneOrMany, v.description('A pattern, or a list of them: a request whose `User-Agent` matches is refused.'))),
});

export const rateLimitKey = v.union(
  [v.literal('client_address'), v.strictObject({ header: v.pipe(headerName, v.description('The request header whose value has its own bucket.')) })],
  'expected client_address or { header: NAME }',
);

export const rateLimit = v.strictObject({
  requests: v.pipe(
    v.number(),
    v.integer('requests is a whole number'),
    v.minValue(1, 'requests must be at least 1'),
    v.description('Tokens that come back every `per`: the sustained rate, at least 1.'),
  ),
  per: v.pipe(duration, v.description('The time over which `requests` tokens come back.')),
  burst: v.optional(
    v.pipe(
      v.number(),
      v.integer('burst is a whole number'),
      v.minValue(1, 'burst must be at least 1'),
      v.description('The bucket size: requests allowed at once after a quiet spell (default `requests`).'),
    ),
  ),
  key: v.optional(v.pipe(rateLimitKey, v.description('What gets its own bucket: `client_address` (the default) or `{ header: NAME }`.'))),
  max_keys: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.description('The most buckets kept in memory (default 100000).'))),
  ipv6_prefix: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.maxValue(128, 'an IPv6 prefix is 1-128 bits'),
      v.description('IPv6 clients in one network of this prefix length share a bucket, 1-128 (default 64).'),
    ),
  ),
});

/** Keys that change or filter requests, allowed on a route and at the top level. */
export const ruleEntries = {
  header_rules: v.optional(
    v.pipe(headerRules, v.description("Changes to the request's headers on the way to the backend; the top level's run before a route's.")),
  ),
  response_header_rules: v.optional(
    v.pipe(headerRules, v.description("Changes to the response's headers on the way to the client; the top level's run before a route's.")),
  ),
  param_rules: v.optional(v.pipe(paramRules, v.description("Changes to the query string; the top level's run before a route's."))),
  rewrite_rules: v.optional(
    v.pipe(rewriteRules, v.description("Changes to the path before it is forwarded: `strip_prefix`, `replace`, then `regex`; the top level's run first.")),
  ),
  upstream_host: v.optional(
    v.pipe(v.string(), v.description("The Host the backend receives: `keep` (the client's, the default), `backend` (its `host:port`), or a `name[:port]`.")),
  ),
  firewall_rules: v.optional(v.pipe(firewallRules, v.description("Requests refused with 403; the top level's are checked as well as a route's."))),
  rate_limit: v.optional(
    v.pipe(rateLimit, v.description("A token bucket per client, 429 when empty; the top level's is one more limiter shared by every route.")),
  ),
  hsts: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\s*max-age=\d+\s*(;\s*(includeSubDomains|preload)\s*)*$/i, (issue) => `${JSON.stringify(issue.input)} is not a Strict-Transport-Security value; write it like "max-age=31536000; includeSubDomains"`),
      v.description('The `Strict-Transport-Security` value sent on HTTPS responses (never on plain HTTP, RFC 6797), such as `max-age=31536000; includeSubDomains`; a route\'s replaces the top level\'s.'),
    ),
  ),
  compress: v.optional(
    v.pipe(
      compress,
      v.description("Compressing responses the backend did not compress (gzip, br): `true`, `false` (off), or `{ types, min_size, algorithms }`; a route's replaces the top level's."),
    ),
  ),
};

/** Keys that only make sense once, at the top level. */
export const globalRuleEntries = {
  trusted_proxies: v.optional(
    v.pipe(v.array(v.string()), v.description('Addresses and CIDR ranges of the proxies whose forwarding header is believed.')),
  ),
  forwarded_header: v.optional(
    v.pipe(
      v.picklist(['x-forwarded-for', 'forwarded'], 'expected x-forwarded-for or forwarded'),
      v.description('The header the trusted proxies write: `x-forwarded-for` (the default) or `forwarded`; needs `trusted_proxies`.'),
    ),
  ),
};
