import { createStrategy } from '../balancing/createStrategy.ts';
import { Backend } from '../pool/Backend.ts';
import { Pool, type PoolMember } from '../pool/Pool.ts';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../proxy/Upstream.ts';
import type { Route } from '../Route.ts';
import { RouteTable } from '../routing/RouteTable.ts';
import { ConfigProblem } from './ConfigProblem.ts';
import type { Config, HostRouteConfig, PathRouteConfig } from './schema/index.ts';
import { parseServerAddress, type ServerAddress } from './serverAddress.ts';

/** A config turned into the structures a request only looks up. */
export interface CompiledConfig {
  readonly routes: RouteTable<Route>;
  /** Every distinct backend, each once, however many routes name it. */
  readonly backends: readonly Backend[];
}

export interface CompileOptions {
  /** Random source in [0, 1) for the balancing strategies. @default Math.random */
  readonly random?: () => number;
}

/** Compiles a validated config. Throws `ConfigProblem` naming the field at fault. */
export function compileConfig(config: Config, options: CompileOptions = {}): CompiledConfig {
  const random = options.random ?? Math.random;
  const backends = new Map<string, Backend>();
  const routes = new RouteTable<Route>();

  const compileRoute = (entry: HostRouteConfig | PathRouteConfig, at: (string | number)[]): Route => {
    const members: PoolMember[] = [];
    entry.servers.forEach((server, i) => {
      const url = typeof server === 'string' ? server : server.url;
      const address = parseServerAddress(url) as ServerAddress;
      let backend = backends.get(address.origin + address.basePath);
      if (!backend) backends.set(address.origin + address.basePath, (backend = new Backend(address)));
      if (members.some((member) => member.backend === backend)) throw new ConfigProblem([...at, 'servers', i], `"${url}" is listed twice`);
      members.push({ backend, weight: typeof server === 'string' ? 1 : (server.weight ?? 1) });
    });
    const host = 'host' in entry ? entry.host : undefined;
    const path = entry.path ?? '/';
    return {
      name: host ? (path === '/' ? host : host + path) : path,
      pool: new Pool(members, createStrategy(entry.algorithm ?? config.algorithm ?? 'random', { members, random })),
      timeouts: resolveTimeouts(config.timeouts, entry.timeouts),
      guards: [],
      requestRewrites: [],
      responseRewrites: [],
    };
  };

  config.hosts?.forEach((entry, i) => {
    if (!routes.add(entry.host, entry.path ?? '/', compileRoute(entry, ['hosts', i]))) {
      throw new ConfigProblem(['hosts', i, 'host'], `another route already serves ${entry.host}${entry.path ?? ''}`);
    }
  });
  config.paths?.forEach((entry, i) => {
    if (!routes.add(undefined, entry.path, compileRoute(entry, ['paths', i]))) {
      throw new ConfigProblem(['paths', i, 'path'], `another route already serves ${entry.path}`);
    }
  });
  return { routes, backends: [...backends.values()] };
}

type TimeoutsConfig = Config['timeouts'];

function resolveTimeouts(global: TimeoutsConfig, local: TimeoutsConfig): Timeouts {
  return {
    connect: local?.connect ?? global?.connect ?? DEFAULT_TIMEOUTS.connect,
    responseHeaders: local?.response_headers ?? global?.response_headers ?? DEFAULT_TIMEOUTS.responseHeaders,
    bodyIdle: local?.body_idle ?? global?.body_idle ?? DEFAULT_TIMEOUTS.bodyIdle,
  };
}
