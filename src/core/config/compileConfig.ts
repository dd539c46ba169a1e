import type { Backend } from '../pool/Backend.ts';
import type { Pool } from '../pool/Pool.ts';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../Upstream.ts';
import type { RequestRewrite, ResponseRewrite, Route } from '../Route.ts';
import { normalizeConfigPath } from '../path/normalizeConfigPath.ts';
import { RouteTable } from '../routing/RouteTable.ts';
import { compileClientAddress, type ClientAddressResolver } from '../firewall/clientAddress.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Config, RouteConfig } from './schema/index.ts';
import { compilePool, type PoolCompileContext } from './compilePool.ts';
import { compileTarget, type CompiledTarget, type TargetCompileContext } from './compileTarget.ts';
import { compileGlobalRules, compileRouteRules } from './compileRouteRules.ts';
import { compileRouteMatch } from './compileRouteMatch.ts';
import { compileMirror } from './compileMirror.ts';
import { warnShadowedFirewalls } from './warnShadowedFirewalls.ts';
import { checkBackendTlsUse } from './checkBackendTlsUse.ts';
import { warnUnreachablePathRejects } from './warnUnreachablePathRejects.ts';
import { serverSettings, type ServerSettings } from './serverSettings.ts';
import { compileListeners, type ListenerSettings } from './compileListeners.ts';
import { hstsRewrite } from '../rules/hsts.ts';
import * as answers from '../answers.ts';
import { compileCompress } from '../compress/CompressSettings.ts';
import { compileGlobalGates, compileRouteGates } from './compileGates.ts';
import type { PasswordChecks } from '../gates/PasswordChecks.ts';
import { fillIdentityHeaders, identityHeadersStep, namesIdentity } from './identityHeaders.ts';
import { warnAuthFallbacks } from './warnAuthFallbacks.ts';
import type { RateLimitStore } from '../RateLimitStore.ts';

/** A config turned into the structures a request only looks up. */
export interface CompiledConfig {
  readonly routes: RouteTable<Route>;
  /** Every route, in the order written: hosts, then paths. */
  readonly routesInOrder: readonly Route[];
  /** Every distinct backend, each once, however many routes name it. */
  readonly backends: readonly Backend[];
  /** Every distinct pool, each once: the named ones first, in the order written, then the routes' own. */
  readonly pools: readonly Pool[];
  /** The client's address from the peer's and, for trusted proxies, the forwarding headers (`trusted_proxies`). */
  readonly clientAddress?: ClientAddressResolver;
  /** Limits and client timeouts every listener enforces. */
  readonly server: ServerSettings;
  /** `listen`, in order; empty when the config has none. */
  readonly listeners: readonly ListenerSettings[];
}

export interface CompileOptions {
  /** Random source in [0, 1) for the balancing strategies. @default Math.random */
  readonly random?: () => number;
  /** Clock for passive health cool-downs and retry budgets. @default Date.now */
  readonly now?: () => number;
  /** Where rate limits are shared, when the config has `store` (Node and Deno: src/store). */
  readonly rateLimitStore?: RateLimitStore;
  /** The config's file name: relative file names in it (`tls.ca`) are taken from its directory. @default names as written */
  readonly configFile?: string;
  /**
   * Where `basic_auth` checks passwords: worker threads on Node and Deno (`serve`); in the
   * runtime's own thread, four at most per config, by default (Workers). @default InlinePasswordChecks
   */
  readonly passwordChecks?: PasswordChecks;
}

/**
 * Compiles a validated config into a value that holds all it needs and shares nothing with
 * another compiled config (its own backends, health state and rate limiters), so two can serve
 * side by side. Every problem found, errors and warnings, is recorded in `problems`, each naming
 * its field, rather than only the first.
 * @returns undefined when any problem is an error
 */
export function compileConfig(config: Config, problems: ConfigProblems, options: CompileOptions = {}): CompiledConfig | undefined {
  const pools: PoolCompileContext = {
    config,
    backends: new Map(),
    firstDefined: new Map(),
    random: options.random ?? Math.random,
    now: options.now,
    problems,
    configFile: options.configFile,
  };
  const routes = new RouteTable<Route>();
  const routesInOrder: Route[] = [];
  const globalRules = compileGlobalRules(config, { now: options.now, rateLimitStore: options.rateLimitStore }, problems);
  const globalGates = compileGlobalGates(config, problems, options.passwordChecks);
  const guardsIdentity = namesIdentity(config);
  const targets: TargetCompileContext = { pools, named: new Map(), used: new Set() };
  for (const [name, entry] of Object.entries(config.pools ?? {})) {
    (targets.named as Map<string, Pool & { name: string }>).set(name, compilePool(entry, ['pools', name], pools, name) as Pool & { name: string });
  }
  const everyPool = new Set<Pool>(targets.named.values());

  const compileRoute = (entry: RouteConfig, at: (string | number)[]): Route => {
    const host = 'host' in entry ? entry.host : undefined;
    const path = entry.path ?? '/';
    const { target, pools: routePools } = problems.attempt(() => compileTarget(entry, at, targets)) ?? UNSERVED;
    for (const pool of routePools) everyPool.add(pool);
    const gates = compileRouteGates(entry, at, globalGates, problems);
    return {
      name: host ? (path === '/' ? host : host + path) : path,
      at: `${at[0]}[${at[1]}]`,
      host,
      path,
      match: compileRouteMatch(entry.match, [...at, 'match'], problems, gates.some((gate) => gate.name === 'cors')),
      target,
      pools: routePools,
      timeouts: resolveTimeouts(config.timeouts, entry.timeouts),
      allowsTrace: [config.firewall_rules, entry.firewall_rules].some((rules) => rules?.method_allow?.some((method) => method.toUpperCase() === 'TRACE')),
      ...withHsts(withoutIdentityHeaders(compileRouteRules(entry, at, globalRules, { now: options.now, rateLimitStore: options.rateLimitStore }, problems), guardsIdentity ? identityHeadersStep() : undefined), entry.hsts ?? config.hsts),
      compress: compileCompress(entry.compress ?? config.compress),
      gates,
      mirror: problems.attempt(() => compileMirror(entry, at, target, targets, problems)),
    };
  };

  const addRoute = (entry: RouteConfig, at: [string, number]) => {
    const route = compileRoute(entry, at);
    routesInOrder.push(route);
    const path = problems.attempt(() => routePath(route.path, [...at, 'path']));
    if (path === undefined || (entry.match && !route.match)) return;
    const twin = routes.add(route.host, path, route, route.match);
    if (twin === undefined) return;
    const field = entry.match ? 'match' : route.host === undefined ? 'path' : 'host';
    const served = route.host === undefined ? route.path : `${route.host}${entry.path ?? ''}`;
    const conditions = entry.match ? ' with the same match conditions' : '';
    problems.add(new ConfigProblem([...at, field], `another route, ${twin.at}, already serves ${served}${conditions}: no request could tell them apart`));
  };
  config.hosts?.forEach((entry, i) => addRoute(entry, ['hosts', i]));
  config.paths?.forEach((entry, i) => addRoute(entry, ['paths', i]));
  fillIdentityHeaders(routesInOrder);
  for (const name of targets.named.keys()) {
    if (!targets.used.has(name)) problems.warn(['pools', name], `no route sends to pool "${name}": name it in a route's pool or split, or remove it`);
  }
  // The pools written out: a route's own (with servers) and the named ones.
  const pooled = [...(config.hosts ?? []), ...(config.paths ?? []), ...Object.values(config.pools ?? {})].filter((entry) => entry.servers !== undefined);
  if (config.hash_on !== undefined && !pooled.some((entry) => (entry.algorithm ?? config.algorithm) === 'consistent_hash')) {
    problems.add(new ConfigProblem(['hash_on'], 'hash_on is only used by algorithm: consistent_hash, and no route or pool uses it'));
  }
  const clientAddress = compileClientAddress(config, problems);
  const listeners = compileListeners(config, problems);
  warnUnreachablePathRejects(config, problems);
  warnShadowedFirewalls(config, problems);
  warnAuthFallbacks(routes, routesInOrder, (i) => (i < (config.hosts?.length ?? 0) ? ['hosts', i] : ['paths', i - (config.hosts?.length ?? 0)]), problems);
  checkBackendTlsUse(config, poolPlaces(config, routesInOrder, targets), problems);
  if (problems.hasErrors) return undefined;
  return { routes, routesInOrder, backends: [...pools.backends.values()], pools: [...everyPool], clientAddress, server: serverSettings(config), listeners };
}

/** Stands in for a target that did not compile: the problem is recorded, and such a config never serves. */
const UNSERVED: CompiledTarget = { target: { kind: 'answer', key: 'respond', status: answers.internalServerError().status, answer: () => answers.internalServerError() }, pools: [] };

/** Each pool written out in the config, where it is written: the named ones, then the routes' own. */
function poolPlaces(config: Config, routes: readonly Route[], targets: TargetCompileContext) {
  const entries = [...(config.hosts ?? []), ...(config.paths ?? [])];
  const at = (i: number) => (i < (config.hosts?.length ?? 0) ? ['hosts', i] : ['paths', i - (config.hosts?.length ?? 0)]);
  return [
    ...Object.entries(config.pools ?? {}).map(([name, entry]) => ({ at: ['pools', name], tls: entry.tls, pool: targets.named.get(name)! })),
    ...entries.flatMap((entry, i) => (entry.servers && routes[i]?.target.kind === 'pool' ? [{ at: at(i), tls: entry.tls, pool: routes[i].pools[0] }] : [])),
  ];
}

/**
 * A route's prefix in the form requests are matched in: `/%61pi` or `/a/./b` written in the config
 * must match the requests that name them, or those requests would fall through to another route
 * (and its firewall).
 */
function routePath(path: string, at: (string | number)[]): string {
  const normal = normalizeConfigPath(path);
  if (normal === undefined) throw new ConfigProblem(at, `"${path}" cannot be normalised (an encoded slash, a bad escape, or ".." above the root)`);
  return normal;
}

/** A route's rules with `hsts` (the route's, else the top level's) added after its response rules. */
function withHsts<R extends { readonly responseRewrites: readonly ResponseRewrite[] }>(rules: R, hsts: string | undefined): R & { hsts?: ResponseRewrite } {
  if (hsts === undefined) return rules;
  const rewrite = hstsRewrite(hsts);
  return { ...rules, responseRewrites: [...rules.responseRewrites, rewrite], hsts: rewrite };
}

/** The identity headers removed first (config/identityHeaders.ts). */
function withoutIdentityHeaders<R extends { readonly requestRewrites: readonly RequestRewrite[] }>(rules: R, removal: RequestRewrite | undefined): R {
  return removal === undefined ? rules : { ...rules, requestRewrites: [removal, ...rules.requestRewrites] };
}

type TimeoutsConfig = Config['timeouts'];

function resolveTimeouts(global: TimeoutsConfig, local: TimeoutsConfig): Timeouts {
  return {
    connect: local?.connect ?? global?.connect ?? DEFAULT_TIMEOUTS.connect,
    responseHeaders: local?.response_headers ?? global?.response_headers ?? DEFAULT_TIMEOUTS.responseHeaders,
    bodyIdle: local?.body_idle ?? global?.body_idle ?? DEFAULT_TIMEOUTS.bodyIdle,
  };
}
