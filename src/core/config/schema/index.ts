import * as v from 'valibot';
import { poolDefaultEntries, poolEntries } from './pool.ts';
import { globalRuleEntries, ruleEntries } from './rules.ts';
import { limits, serverTimeouts } from './server.ts';

const hostName = v.pipe(
  v.string(),
  v.regex(/^(\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?(:\d{1,5})?$/, (issue) => `${JSON.stringify(issue.input)} is not a host name or *.wildcard`),
);

const pathPrefix = v.pipe(v.string(), v.startsWith('/', 'a path starts with "/"'));

export const hostRoute = v.strictObject({
  host: hostName,
  path: v.optional(pathPrefix),
  ...poolEntries,
  ...ruleEntries,
});

export const pathRoute = v.strictObject({
  path: pathPrefix,
  ...poolEntries,
  ...ruleEntries,
});

/** The whole config file. */
export const configSchema = v.pipe(
  v.strictObject({
    $schema: v.optional(v.string()),
    hosts: v.optional(v.array(hostRoute)),
    paths: v.optional(v.array(pathRoute)),
    ...poolDefaultEntries,
    ...ruleEntries,
    ...globalRuleEntries,
    timeouts: v.optional(serverTimeouts),
    limits: v.optional(limits),
  }),
  v.check((config) => (config.hosts?.length ?? 0) + (config.paths?.length ?? 0) > 0, 'the config has no routes: add `hosts` or `paths`'),
);

export type ConfigInput = v.InferInput<typeof configSchema>;
export type Config = v.InferOutput<typeof configSchema>;
export type HostRouteConfig = v.InferOutput<typeof hostRoute>;
export type PathRouteConfig = v.InferOutput<typeof pathRoute>;
