import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { isUnder, routePrefix } from './routePrefix.ts';
import type { Config } from './schema/index.ts';

type FirewallRules = NonNullable<Config['firewall_rules']>;

/**
 * Warns of a path-only route's `firewall_rules` that some of its paths escape. A host route wins
 * over a path-only one (see RouteTable), so a request under `/admin` for a host that a `hosts`
 * entry serves (by name or `*.` wildcard) at an overlapping path goes to that entry, and the
 * path-only route's firewall never sees it. Not warned of when that host route carries the same
 * rules. A warning, not an error: the host route may be meant to take those requests.
 */
export function warnShadowedFirewalls(config: Config, problems: ConfigProblems): void {
  config.paths?.forEach((entry, i) => {
    const rules = entry.firewall_rules;
    const prefix = routePrefix(entry.path);
    if (!rules || !refusesAnything(rules) || prefix === undefined) return;
    const shadowing = (config.hosts ?? []).flatMap((host, j) => {
      const hostPrefix = routePrefix(host.path ?? '/');
      if (hostPrefix === undefined || sameRules(host.firewall_rules, rules)) return [];
      if (isUnder(prefix, hostPrefix)) return [`${host.host} under ${entry.path} (hosts[${j}])`];
      return isUnder(hostPrefix, prefix) ? [`${host.host} under ${host.path} (hosts[${j}])`] : [];
    });
    if (shadowing.length === 0) return;
    const one = shadowing.length === 1;
    problems.warn(
      ['paths', i, 'firewall_rules'],
      `these firewall_rules do not protect requests for ${shadowing.join(', ')}: ${one ? 'that route serves' : 'those routes serve'} them instead; give ${one ? 'it' : 'them'} the same firewall_rules, or set them at the top level`,
    );
  });
}

/** Whether the rules can refuse a request: `ip_allow` and `method_allow` do even when empty. */
function refusesAnything(rules: FirewallRules): boolean {
  return (
    rules.ip_allow !== undefined ||
    rules.method_allow !== undefined ||
    [rules.ip_reject, rules.path_reject, rules.user_agent_reject].some((list) => (list?.length ?? 0) > 0) ||
    Object.values(rules.header_reject ?? {}).some((patterns) => patterns.length > 0)
  );
}

function sameRules(a: FirewallRules | undefined, b: FirewallRules): boolean {
  return a !== undefined && canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
