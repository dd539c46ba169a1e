import type { Backend } from '../pool/Backend.ts';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../Upstream.ts';
import type { ResponseRewrite, Route } from '../Route.ts';
import { normalizeConfigPath } from '../path/normalizeConfigPath.ts';
import { RouteTable } from '../routing/RouteTable.ts';
import { compileClientAddress, type ClientAddressResolver } from '../firewall/clientAddress.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Config, HostRouteConfig, PathRouteConfig } from './schema/index.ts';
import { compilePool, type PoolCompileContext } from './compilePool.ts';
import { compileGlobalRules, compileRouteRules } from './compileRouteRules.ts';
import { warnShadowedFirewalls } from './warnShadowedFirewalls.ts';
import { checkBackendTlsUse } from './checkBackendTlsUse.ts';
import { warnUnreachablePathRejects } from './warnUnreachablePathRejects.ts';
import { serverSettings, type ServerSettings } from './serverSettings.ts';
import { compileListeners, type ListenerSettings } from './compileListeners.ts';
import { hstsRewrite } from '../rules/hsts.ts';
import { compileGlobalGates, compileRouteGates } from './compileGates.ts';

/** A config turned into the structures a request only looks up. */
export interface CompiledConfig {
  readonly routes: RouteTable<Route>;
  /** Every route, in the order written: hosts, then paths. */
  readonly routesInOrder: readonly Route[];
  /** Every distinct backend, each once, however many routes name it. */
  readonly backends: readonly Backend[];
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
  /** The config's file name: relative file names in it (`tls.ca`) are taken from its directory. @default names as written */
  readonly configFile?: string;
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
  const globalRules = compileGlobalRules(config, { now: options.now }, problems);
  const globalGates = compileGlobalGates(config, problems);

  const compileRoute = (entry: HostRouteConfig | PathRouteConfig, at: (string | number)[]): Route => {
    const host = 'host' in entry ? entry.host : undefined;
    const path = entry.path ?? '/';
    return {
      name: host ? (path === '/' ? host : host + path) : path,
      host,
      path,
      pool: compilePool(entry, at, pools),
      timeouts: resolveTimeouts(config.timeouts, entry.timeouts),
      allowsTrace: [config.firewall_rules, entry.firewall_rules].some((rules) => rules?.method_allow?.some((method) => method.toUpperCase() === 'TRACE')),
      ...withHsts(compileRouteRules(entry, at, globalRules, { now: options.now }, problems), entry.hsts ?? config.hsts),
      gates: compileRouteGates(entry, at, globalGates, problems),
    };
  };

  config.hosts?.forEach((entry, i) => {
    const route = compileRoute(entry, ['hosts', i]);
    routesInOrder.push(route);
    const path = problems.attempt(() => routePath(entry.path ?? '/', ['hosts', i, 'path']));
    if (path !== undefined && !routes.add(entry.host, path, route)) {
      problems.add(new ConfigProblem(['hosts', i, 'host'], `another route already serves ${entry.host}${entry.path ?? ''}`));
    }
  });
  config.paths?.forEach((entry, i) => {
    const route = compileRoute(entry, ['paths', i]);
    routesInOrder.push(route);
    const path = problems.attempt(() => routePath(entry.path, ['paths', i, 'path']));
    if (path !== undefined && !routes.add(undefined, path, route)) {
      problems.add(new ConfigProblem(['paths', i, 'path'], `another route already serves ${entry.path}`));
    }
  });
  const entries = [...(config.hosts ?? []), ...(config.paths ?? [])];
  if (config.hash_on !== undefined && !entries.some((entry) => (entry.algorithm ?? config.algorithm) === 'consistent_hash')) {
    problems.add(new ConfigProblem(['hash_on'], 'hash_on is only used by algorithm: consistent_hash, and no route uses it'));
  }
  const clientAddress = compileClientAddress(config, problems);
  const listeners = compileListeners(config, problems);
  warnUnreachablePathRejects(config, problems);
  warnShadowedFirewalls(config, problems);
  checkBackendTlsUse(config, routesInOrder, problems);
  if (problems.hasErrors) return undefined;
  return { routes, routesInOrder, backends: [...pools.backends.values()], clientAddress, server: serverSettings(config), listeners };
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
function withHsts<R extends { readonly responseRewrites: readonly ResponseRewrite[] }>(rules: R, hsts: string | undefined): R {
  return hsts === undefined ? rules : { ...rules, responseRewrites: [...rules.responseRewrites, hstsRewrite(hsts)] };
}

type TimeoutsConfig = Config['timeouts'];

function resolveTimeouts(global: TimeoutsConfig, local: TimeoutsConfig): Timeouts {
  return {
    connect: local?.connect ?? global?.connect ?? DEFAULT_TIMEOUTS.connect,
    responseHeaders: local?.response_headers ?? global?.response_headers ?? DEFAULT_TIMEOUTS.responseHeaders,
    bodyIdle: local?.body_idle ?? global?.body_idle ?? DEFAULT_TIMEOUTS.bodyIdle,
  };
}
