import * as v from 'valibot';
import { nameList, stringMap } from './common.ts';

export const headerRules = v.strictObject({
  add: v.optional(stringMap),
  remove: v.optional(nameList),
});

export const paramRules = v.strictObject({
  add: v.optional(stringMap),
  remove: v.optional(nameList),
});

export const rewriteRules = v.strictObject({
  replace: v.optional(stringMap),
});

export const firewallRules = v.strictObject({
  ip_reject: v.optional(v.array(v.string())),
  path_reject: v.optional(v.array(v.pipe(v.string(), v.startsWith('/', 'a rejected path starts with "/"')))),
});

/** Keys that change or filter requests, allowed on a route and at the top level. */
export const ruleEntries = {
  header_rules: v.optional(headerRules),
  param_rules: v.optional(paramRules),
  rewrite_rules: v.optional(rewriteRules),
  firewall_rules: v.optional(firewallRules),
};

/** Keys that only make sense once, at the top level. */
export const globalRuleEntries = {};
