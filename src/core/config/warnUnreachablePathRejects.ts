import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { isUnder, routePrefix } from './routePrefix.ts';
import type { Config } from './schema/index.ts';

/**
 * Warns of `firewall_rules.path_reject` entries that can never match. A route only ever sees the
 * paths under its own `path`, so `/messages` on the route `/mango` refuses nothing
 * (`/mango/messages` would); a top-level entry that no route's paths reach is warned of too. A
 * warning, not an error: the config does what it says, only not what it was likely meant to.
 */
export function warnUnreachablePathRejects(config: Config, problems: ConfigProblems): void {
  const routes = [
    ...(config.hosts ?? []).map((entry, i) => ({ entry, at: ['hosts', i] })),
    ...(config.paths ?? []).map((entry, i) => ({ entry, at: ['paths', i] })),
  ];
  // The firewall compares paths without case, so a route's prefix is lowered to compare with it.
  const prefixes = routes.map(({ entry }) => comparable(entry.path ?? '/'));

  routes.forEach(({ entry, at }, r) => {
    const prefix = prefixes[r];
    entry.firewall_rules?.path_reject?.forEach((path, i) => {
      const rejected = routePrefix(path)?.toLowerCase();
      if (rejected === undefined || prefix === undefined || reaches(prefix, rejected)) return;
      const meant = `${(entry.path ?? '/').replace(/\/+$/, '')}${path}`;
      problems.warn(
        [...at, 'firewall_rules', 'path_reject', i],
        `${JSON.stringify(path)} can never match: this route only sees paths under ${entry.path}; write ${JSON.stringify(meant)} to refuse that path here`,
      );
    });
  });

  config.firewall_rules?.path_reject?.forEach((path, i) => {
    const rejected = routePrefix(path)?.toLowerCase();
    if (rejected === undefined || prefixes.some((prefix) => prefix === undefined || reaches(prefix, rejected))) return;
    problems.warn(['firewall_rules', 'path_reject', i], `${JSON.stringify(path)} can never match: no route sees paths under it`);
  });
}

/**
 * A route's prefix as the firewall would see its requests, or undefined to assume it reaches
 * every path: with a `;` in it, the firewall's reading of `;params` could take a request's path
 * out from under it.
 */
function comparable(path: string): string | undefined {
  const prefix = routePrefix(path);
  return prefix === undefined || prefix.includes(';') ? undefined : prefix.toLowerCase();
}

/** Whether some path under `prefix` falls under `rejected`: one lies under the other. */
function reaches(prefix: string, rejected: string): boolean {
  return isUnder(rejected, prefix) || isUnder(prefix, rejected);
}
