import * as v from 'valibot';
import { jsonSchemaRule } from './common.ts';
import { crossKeyRules } from './crossKeyRules.ts';
import { namedPool, poolDefaultEntries, poolEntries, TIMEOUTS_DESCRIPTION } from './pool.ts';
import { poolName, targetEntries } from './target.ts';
import { globalRuleEntries, ruleEntries } from './rules.ts';
import { admin } from './admin.ts';
import { store } from './store.ts';
import { listener } from './listen.ts';
import { limits, serverTimeouts } from './server.ts';
import { matchEntries } from './match.ts';
import { gateEntries } from './gates.ts';
import { mirrorEntries } from './mirror.ts';

const hostName = v.pipe(
  v.string(),
  v.regex(/^(\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?(:\d{1,5})?$/, (issue) => `${JSON.stringify(issue.input)} is not a host name or *.wildcard`),
  v.description('The host name the route serves (compared without case, port or trailing dot), or `*.example.com` for every name under it.'),
);

const pathPrefix = v.pipe(
  v.string(),
  v.startsWith('/', 'a path starts with "/"'),
  v.description('The path prefix the route serves, matched on segment boundaries (optional on a `hosts` route, default `/`).'),
);

export const hostRoute = v.strictObject({
  host: hostName,
  path: v.optional(pathPrefix),
  ...targetEntries,
  ...mirrorEntries,
  ...matchEntries,
  ...poolEntries,
  ...ruleEntries,
  ...gateEntries,
});

export const pathRoute = v.strictObject({
  path: pathPrefix,
  ...targetEntries,
  ...mirrorEntries,
  ...matchEntries,
  ...poolEntries,
  ...ruleEntries,
  ...gateEntries,
});

/** The whole config file. */
export const configSchema = v.pipe(
  v.strictObject({
    $schema: v.optional(v.pipe(v.string(), v.description('The JSON Schema an editor checks this file against; the balancer ignores it.'))),
    hosts: v.optional(v.pipe(v.array(hostRoute), v.description('Routes chosen by the Host header, tried before `paths`.'))),
    paths: v.optional(v.pipe(v.array(pathRoute), v.description('Routes chosen by path prefix alone, tried when no `hosts` route matches.'))),
    pools: v.optional(
      v.pipe(
        v.record(poolName, namedPool),
        v.description('Named pools, name to `{ servers, algorithm, ... }`, for routes to share by `pool: NAME` or `split`; the top-level pool keys are their defaults too.'),
      ),
    ),
    ...poolDefaultEntries,
    ...ruleEntries,
    ...gateEntries,
    ...globalRuleEntries,
    timeouts: v.optional(v.pipe(serverTimeouts, v.description(TIMEOUTS_DESCRIPTION))),
    limits: v.optional(v.pipe(limits, v.description('How much of a request head the balancer reads before it refuses the request.'))),
    listen: v.optional(
      v.pipe(
        v.array(listener),
        v.minLength(1, 'listen needs at least one listener'),
        v.description('Where the balancer listens, each address plain or TLS, in order; `--port` and `--hostname` replace the list with one plain listener (default 127.0.0.1:8080).'),
      ),
    ),
    admin: v.optional(v.pipe(admin, v.description('The admin listener: metrics, the status page and the admin API (docs/operations.md).'))),
    store: v.optional(v.pipe(store, v.description('State shared by every instance through Redis: global rate limits, and health verdicts, ejections and admin drains (Node and Deno).'))),
  }),
  v.check((config) => (config.hosts?.length ?? 0) + (config.paths?.length ?? 0) > 0, 'the config has no routes: add `hosts` or `paths`'),
  jsonSchemaRule({
    allOf: [
      {
        anyOf: [
          { required: ['hosts'], properties: { hosts: { type: 'array', minItems: 1 } } },
          { required: ['paths'], properties: { paths: { type: 'array', minItems: 1 } } },
        ],
      },
    ],
  }),
  jsonSchemaRule({ allOf: crossKeyRules }),
);

export type ConfigInput = v.InferInput<typeof configSchema>;
export type Config = v.InferOutput<typeof configSchema>;
export type HostRouteConfig = v.InferOutput<typeof hostRoute>;
export type PathRouteConfig = v.InferOutput<typeof pathRoute>;
export type RouteConfig = HostRouteConfig | PathRouteConfig;
/** A pool as written: a named pool of `pools`, or a route's own `servers` and pool keys. */
export type PoolConfig = v.InferOutput<typeof namedPool>;
