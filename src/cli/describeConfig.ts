import type { LoadedConfig } from '../core/config/loadConfig.ts';
import type { Config, PoolConfig, RouteConfig } from '../core/config/schema/index.ts';

/** The summary `switchyard check` prints: routes in match order, and the backends they share. */
export function describeConfig(loaded: LoadedConfig): string {
  const { config, backends } = loaded;
  const lines: string[] = [];
  const routeCount = (config.hosts?.length ?? 0) + (config.paths?.length ?? 0);
  lines.push(`${routeCount} route${routeCount === 1 ? '' : 's'}, ${backends.length} backend${backends.length === 1 ? '' : 's'}`);
  for (const route of config.hosts ?? []) lines.push(`  host ${route.host}${route.path ? ` path ${route.path}` : ''} -> ${describeTarget(route, config)}`);
  for (const route of config.paths ?? []) lines.push(`  path ${route.path} -> ${describeTarget(route, config)}`);
  if (loaded.listeners.length > 0) lines.push('listen:');
  for (const listener of loaded.listeners) {
    const what = listener.tls
      ? `https, ${listener.tls.certificates.length} certificate${listener.tls.certificates.length === 1 ? '' : 's'}, ${listener.tls.minVersion} and up`
      : listener.redirectHttps
        ? 'http, redirects to https'
        : 'http';
    lines.push(`  ${listener.address}: ${what}`);
  }
  lines.push('backends:');
  for (const backend of backends) {
    const { active, passive } = backend.health;
    const probe = active ? `probed GET ${active.path} every ${active.intervalMs} ms (timeout ${active.timeoutMs} ms)` : 'not probed';
    lines.push(`  ${backend.id}: ${probe}, passive ejection ${passive ? `after ${passive.failures} failures` : 'off'}`);
  }
  return lines.join('\n');
}

/** Where a route's requests go, in a few words: its servers, its named pool or split, or its own answer. */
function describeTarget(route: RouteConfig, config: Config): string {
  const pool = (entry: Partial<PoolConfig>) => `${entry.servers?.length ?? 0} server(s), ${entry.algorithm ?? config.algorithm ?? 'random'}`;
  if (route.pool !== undefined) return `pool ${route.pool} (${pool(config.pools?.[route.pool] ?? {})})`;
  if (route.split) return `split ${route.split.map((side) => `${side.pool} ${side.weight}`).join(', ')}${route.sticky ? ' (sticky)' : ''}`;
  if (route.redirect) return `redirect ${route.redirect.status ?? 308} to ${route.redirect.to}`;
  if (route.respond) return `respond ${route.respond.status ?? 200}`;
  return pool(route);
}
