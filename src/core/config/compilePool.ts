import { createStrategy } from '../balancing/createStrategy.ts';
import { Sticky } from '../balancing/sticky.ts';
import { HealthState } from '../health/HealthState.ts';
import { Backend } from '../pool/Backend.ts';
import { Pool, type PoolMember } from '../pool/Pool.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { activeCheckOf, backendTlsOf, healthSettingsKey, passiveHealthOf, protocolOf, retriesOf, stickyOf, tlsFor, tlsSettingsKey } from './compilePoolSettings.ts';
import { formatPath } from './parseConfig.ts';
import type { Config, PoolConfig } from './schema/index.ts';
import { parseServerAddress, type ServerAddress } from './serverAddress.ts';

export interface PoolCompileContext {
  readonly config: Config;
  /** Backends by id, shared across routes so that each is probed and counted once. */
  readonly backends: Map<string, Backend>;
  /** Where each backend's health (`key`), TLS (`tls`) and protocol settings were first given, to report a route that disagrees. */
  readonly firstDefined: Map<Backend, { readonly key: string; readonly tls: string; readonly protocol: string; readonly at: string }>;
  /** The config's file name: relative file names in it (`tls.ca`) are taken from its directory. */
  readonly configFile?: string;
  readonly random: () => number;
  /** Clock for passive health and retry budgets. @default Date.now */
  readonly now?: () => number;
  readonly problems: ConfigProblems;
}

/**
 * Compiles a pool's `servers` and balancing keys, a route's own or a named pool's, into its pool.
 * Health is tracked once per backend, and its connections are set up once, so two pools that name
 * the same backend must give it the same `health_check`, `passive_health`, `tls` and `protocol`; a
 * disagreement is a config error rather than a silent winner. Each problem is recorded in
 * `context.problems`, and the pool still built, so that every one is reported.
 * @param name the pool's name in `pools`; undefined for a route's own
 */
export function compilePool(entry: PoolConfig, at: readonly (string | number)[], context: PoolCompileContext, name?: string): Pool {
  const { problems } = context;
  const { config } = context;
  const active = activeCheckOf(entry, config);
  const passive = passiveHealthOf(entry, config);
  const key = healthSettingsKey(active, passive);
  const algorithm = entry.algorithm ?? config.algorithm ?? 'random';
  const tls = backendTlsOf(entry, config, context.configFile);
  const isHttps = (server: (typeof entry.servers)[number]) => /^https:/i.test(typeof server === 'string' ? server : server.url);
  if (entry.tls && !entry.servers.some(isHttps)) {
    problems.add(new ConfigProblem([...at, 'tls'], `tls is for https:// servers, and every server of this ${name === undefined ? 'route' : 'pool'} is plain http: write them as https://HOST:PORT`));
  }

  const protocol = protocolOf(entry, config);
  const protocolAt = entry.protocol === undefined ? ['protocol'] : [...at, 'protocol'];
  const wrongScheme = protocol === 'http2' ? entry.servers.filter((server) => !isHttps(server)) : protocol === 'h2c' ? entry.servers.filter(isHttps) : [];
  if (wrongScheme.length > 0) {
    const named = typeof wrongScheme[0] === 'string' ? wrongScheme[0] : wrongScheme[0].url;
    problems.add(
      new ConfigProblem(
        [...at, 'servers', entry.servers.indexOf(wrongScheme[0])],
        protocol === 'http2'
          ? `"${named}" is plain http, and protocol is http2 (HTTP/2 over TLS, from ${formatPath(protocolAt)}): write it as https://HOST:PORT, or use protocol: h2c for cleartext HTTP/2`
          : `"${named}" is https, and protocol is h2c (cleartext HTTP/2, from ${formatPath(protocolAt)}): write it as http://HOST:PORT, or use protocol: http2 for HTTP/2 over TLS`,
      ),
    );
  }

  const members: PoolMember[] = [];
  entry.servers.forEach((server, i) => {
    const url = typeof server === 'string' ? server : server.url;
    const address = parseServerAddress(url) as ServerAddress;
    const id = address.origin + address.basePath;
    const backendTls = address.origin.startsWith('https:') ? tlsFor(address.origin, tls) : undefined;
    let backend = context.backends.get(id);
    if (!backend) {
      backend = new Backend(address, new HealthState({ active, passive, now: context.now }), backendTls, protocol);
      context.backends.set(id, backend);
      context.firstDefined.set(backend, { key, tls: tlsSettingsKey(backendTls), protocol, at: formatPath(at) });
    }
    const first = context.firstDefined.get(backend);
    if (first && first.protocol !== protocol) {
      problems.add(
        new ConfigProblem(
          [...at, 'servers', i],
          `"${url}" is also a server of ${first.at}, with protocol ${first.protocol}, and here ${protocol}; a backend's connections are set up once for all its routes, so give both routes the same protocol`,
        ),
      );
    }
    if (first && first.tls !== tlsSettingsKey(backendTls)) {
      problems.add(
        new ConfigProblem(
          [...at, 'servers', i],
          `"${url}" is also a server of ${first.at}, with different tls settings; a backend's connections are set up once for all its routes, so give both routes the same tls (or set it once at the top level)`,
        ),
      );
    }
    if (first && first.key !== key) {
      problems.add(
        new ConfigProblem(
          [...at, 'servers', i],
          `"${url}" is also a server of ${first.at}, with different health_check or passive_health settings; a backend is checked once for all its routes, so give both routes the same settings (or set them once at the top level)`,
        ),
      );
    }
    if (members.some((member) => member.backend === backend)) {
      problems.add(new ConfigProblem([...at, 'servers', i], `"${url}" is listed twice`));
      return;
    }
    const weight = typeof server === 'string' ? 1 : (server.weight ?? 1);
    if (weight !== 1 && algorithm === 'round_robin') {
      problems.add(new ConfigProblem([...at, 'servers', i, 'weight'], 'round_robin takes every server in turn and ignores weights; use algorithm: weighted'));
    }
    members.push({ backend, weight });
  });

  if (entry.hash_on !== undefined && algorithm !== 'consistent_hash') {
    problems.add(new ConfigProblem([...at, 'hash_on'], `hash_on is only used by algorithm: consistent_hash, and this ${name === undefined ? 'route' : 'pool'} uses ${algorithm}`));
  }
  const stickySettings = stickyOf(entry, config);
  const hashOn = entry.hash_on ?? config.hash_on;
  return new Pool(members, (weighted) => createStrategy(algorithm, { members: weighted, random: context.random, hashOn }), {
    name,
    algorithm,
    retries: retriesOf(entry, config),
    sticky: stickySettings && new Sticky(stickySettings),
    now: context.now,
  });
}
