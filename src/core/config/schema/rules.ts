import * as v from 'valibot';
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
  add: v.optional(stringMap),
  set: v.optional(stringMap),
  append: v.optional(stringMap),
  remove: v.optional(nameList),
};

export const headerRules = v.strictObject(headerOperations);

/** Query rules: `add` (the tutorial's, replaces like `set`), `set`, `append`, `remove`. */
export const paramRules = v.strictObject({
  add: v.optional(stringMap),
  set: v.optional(stringMap),
  append: v.optional(stringMap),
  remove: v.optional(nameList),
});

export const regexRewrite = v.strictObject({
  pattern: v.string(),
  replacement: v.string(),
});

/** Path rewrites, applied in this order: `strip_prefix`, `replace`, `regex`. */
export const rewriteRules = v.strictObject({
  strip_prefix: v.optional(v.pipe(v.string(), v.startsWith('/', 'a prefix to strip starts with "/"'))),
  replace: v.optional(stringMap),
  regex: v.optional(v.array(regexRewrite)),
});

export const firewallRules = v.strictObject({
  ip_reject: v.optional(v.array(v.string())),
  ip_allow: v.optional(v.array(v.string())),
  path_reject: v.optional(v.array(v.pipe(v.string(), v.startsWith('/', 'a rejected path starts with "/"')))),
  method_allow: v.optional(v.array(v.string())),
  header_reject: v.optional(v.record(v.string(), oneOrMany)),
  user_agent_reject: v.optional(oneOrMany),
});

export const rateLimitKey = v.union(
  [v.literal('client_address'), v.strictObject({ header: headerName })],
  'expected client_address or { header: NAME }',
);

export const rateLimit = v.strictObject({
  requests: v.pipe(v.number(), v.integer('requests is a whole number'), v.minValue(1, 'requests must be at least 1')),
  per: duration,
  burst: v.optional(v.pipe(v.number(), v.integer('burst is a whole number'), v.minValue(1, 'burst must be at least 1'))),
  key: v.optional(rateLimitKey),
  max_keys: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  ipv6_prefix: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(128, 'an IPv6 prefix is 1-128 bits'))),
});

/** Keys that change or filter requests, allowed on a route and at the top level. */
export const ruleEntries = {
  header_rules: v.optional(headerRules),
  response_header_rules: v.optional(headerRules),
  param_rules: v.optional(paramRules),
  rewrite_rules: v.optional(rewriteRules),
  upstream_host: v.optional(v.string()),
  firewall_rules: v.optional(firewallRules),
  rate_limit: v.optional(rateLimit),
};

/** Keys that only make sense once, at the top level. */
export const globalRuleEntries = {
  trusted_proxies: v.optional(v.array(v.string())),
  forwarded_header: v.optional(v.picklist(['x-forwarded-for', 'forwarded'], 'expected x-forwarded-for or forwarded')),
};
