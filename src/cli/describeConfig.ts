import type { LoadedConfig } from '../core/config/loadConfig.ts';

/** The summary `switchyard check` prints: routes in match order, and the backends they share. */
export function describeConfig(loaded: LoadedConfig): string {
  const { config, backends } = loaded;
  const lines: string[] = [];
  const routeCount = (config.hosts?.length ?? 0) + (config.paths?.length ?? 0);
  lines.push(`${routeCount} route${routeCount === 1 ? '' : 's'}, ${backends.length} backend${backends.length === 1 ? '' : 's'}`);
  for (const route of config.hosts ?? []) {
    lines.push(`  host ${route.host}${route.path ? ` path ${route.path}` : ''} -> ${route.servers.length} server(s), ${route.algorithm ?? config.algorithm ?? 'random'}`);
  }
  for (const route of config.paths ?? []) {
    lines.push(`  path ${route.path} -> ${route.servers.length} server(s), ${route.algorithm ?? config.algorithm ?? 'random'}`);
  }
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
