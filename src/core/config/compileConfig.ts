import type { Backend } from '../pool/Backend.ts';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../proxy/Upstream.ts';
import type { Route } from '../Route.ts';
import { normalizeConfigPath } from '../path/normalizeConfigPath.ts';
import { RouteTable } from '../routing/RouteTable.ts';
import { compileClientAddress, type ClientAddressResolver } from '../firewall/clientAddress.ts';
import { ConfigProblem } from './ConfigProblem.ts';
import type { Config, HostRouteConfig, PathRouteConfig } from './schema/index.ts';
import { compilePool } from './compilePool.ts';
import { compileRouteRules } from './compileRouteRules.ts';
import { serverSettings, type ServerSettings } from './serverSettings.ts';

/** A config turned into the structures a request only looks up. */
export interface CompiledConfig {
  readonly routes: RouteTable<Route>;
  /** Every distinct backend, each once, however many routes name it. */
  readonly backends: readonly Backend[];
  /** The client's address from the peer's and, for trusted proxies, the forwarding headers (`trusted_proxies`). */
  readonly clientAddress?: ClientAddressResolver;
  /** Limits and client timeouts every listener enforces. */
  readonly server: ServerSettings;
}

export interface CompileOptions {
  /** Random source in [0, 1) for the balancing strategies. @default Math.random */
  readonly random?: () => number;
  /** Clock for passive health cool-downs and retry budgets. @default Date.now */
  readonly now?: () => number;
}

/** Compiles a validated config. Throws `ConfigProblem` naming the field at fault. */
export function compileConfig(config: Config, options: CompileOptions = {}): CompiledConfig {
  const random = options.random ?? Math.random;
  const backends = new Map<string, Backend>();
  const routes = new RouteTable<Route>();

  const compileRoute = (entry: HostRouteConfig | PathRouteConfig, at: (string | number)[]): Route => {
    const host = 'host' in entry ? entry.host : undefined;
    const path = entry.path ?? '/';
    return {
      name: host ? (path === '/' ? host : host + path) : path,
      pool: compilePool(entry, at, { config, backends, random, now: options.now }),
      timeouts: resolveTimeouts(config.timeouts, entry.timeouts),
      allowsTrace: [config.firewall_rules, entry.firewall_rules].some((rules) => rules?.method_allow?.some((method) => method.toUpperCase() === 'TRACE')),
      ...compileRouteRules(entry, at, config, { now: options.now }),
    };
  };

  config.hosts?.forEach((entry, i) => {
    const path = routePath(entry.path ?? '/', ['hosts', i, 'path']);
    if (!routes.add(entry.host, path, compileRoute(entry, ['hosts', i]))) {
      throw new ConfigProblem(['hosts', i, 'host'], `another route already serves ${entry.host}${entry.path ?? ''}`);
    }
  });
  config.paths?.forEach((entry, i) => {
    const path = routePath(entry.path, ['paths', i, 'path']);
    if (!routes.add(undefined, path, compileRoute(entry, ['paths', i]))) {
      throw new ConfigProblem(['paths', i, 'path'], `another route already serves ${entry.path}`);
    }
  });
  const entries = [...(config.hosts ?? []), ...(config.paths ?? [])];
  if (config.hash_on !== undefined && !entries.some((entry) => (entry.algorithm ?? config.algorithm) === 'consistent_hash')) {
    throw new ConfigProblem(['hash_on'], 'hash_on is only used by algorithm: consistent_hash, and no route uses it');
  }
  return { routes, backends: [...backends.values()], clientAddress: compileClientAddress(config), server: serverSettings(config) };
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

type TimeoutsConfig = Config['timeouts'];

function resolveTimeouts(global: TimeoutsConfig, local: TimeoutsConfig): Timeouts {
  return {
    connect: local?.connect ?? global?.connect ?? DEFAULT_TIMEOUTS.connect,
    responseHeaders: local?.response_headers ?? global?.response_headers ?? DEFAULT_TIMEOUTS.responseHeaders,
    bodyIdle: local?.body_idle ?? global?.body_idle ?? DEFAULT_TIMEOUTS.bodyIdle,
  };
}
