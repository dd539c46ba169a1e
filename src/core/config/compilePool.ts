import { createStrategy } from '../balancing/createStrategy.ts';
import { Backend } from '../pool/Backend.ts';
import { Pool, type PoolMember } from '../pool/Pool.ts';
import { ConfigProblem } from './ConfigProblem.ts';
import type { Config, HostRouteConfig, PathRouteConfig } from './schema/index.ts';
import { parseServerAddress, type ServerAddress } from './serverAddress.ts';

export interface PoolCompileContext {
  readonly config: Config;
  /** Backends by id, shared across routes so that each is probed and counted once. */
  readonly backends: Map<string, Backend>;
  readonly random: () => number;
}

/** Compiles a route's `servers` and balancing keys into its pool. */
export function compilePool(entry: HostRouteConfig | PathRouteConfig, at: readonly (string | number)[], context: PoolCompileContext): Pool {
  const members: PoolMember[] = [];
  entry.servers.forEach((server, i) => {
    const url = typeof server === 'string' ? server : server.url;
    const address = parseServerAddress(url) as ServerAddress;
    const id = address.origin + address.basePath;
    let backend = context.backends.get(id);
    if (!backend) context.backends.set(id, (backend = new Backend(address)));
    if (members.some((member) => member.backend === backend)) throw new ConfigProblem([...at, 'servers', i], `"${url}" is listed twice`);
    members.push({ backend, weight: typeof server === 'string' ? 1 : (server.weight ?? 1) });
  });
  const algorithm = entry.algorithm ?? context.config.algorithm ?? 'random';
  return new Pool(members, createStrategy(algorithm, { members, random: context.random }));
}
