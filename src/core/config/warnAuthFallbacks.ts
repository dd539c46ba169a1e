import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { routeBackends } from './routeBackends.ts';
import type { Route } from '../Route.ts';
import type { RouteTable } from '../routing/RouteTable.ts';
import { routePrefix } from './routePrefix.ts';

const AUTH_GATES = new Set(['basic_auth', 'forward_auth']);

/**
 * Warns of a route with `basic_auth` or `forward_auth` and a `match` whose refusals are not
 * refusals: a request that does not match (another method, a missing header) goes to the next
 * route that serves it, and when that route has no such gate and sends to one of the same
 * backends, it reaches the backend unchecked (`DELETE /admin/users/1` past a `match: { methods:
 * [GET] }`). The routes it could go on to are asked of the route table itself (its candidates for
 * the route's own host and path, after the route): wildcard hosts and path-only routes included.
 * A warning, since the fallback may be meant (a public read route beside a guarded write one).
 */
export function warnAuthFallbacks(table: RouteTable<Route>, routes: readonly Route[], placeOf: (index: number) => (string | number)[], problems: ConfigProblems): void {
  const guarded = (route: Route) => route.gates.some((gate) => AUTH_GATES.has(gate.name));
  routes.forEach((route, i) => {
    const prefix = routePrefix(route.path);
    if (!route.match || !guarded(route) || prefix === undefined) return;
    const guardedBackends = new Set(routeBackends(route));
    const candidates = table.candidates(route.host, prefix).map((candidate) => candidate.value);
    const fallbacks = candidates.slice(candidates.indexOf(route) + 1).flatMap((other) => {
      if (guarded(other) || !routeBackends(other).some((backend) => guardedBackends.has(backend))) return [];
      const shared = other.pools.find((pool) => route.pools.includes(pool));
      return [`${other.at} (${other.name}${shared?.name ? `, pool "${shared.name}"` : ''})`];
    });
    if (fallbacks.length === 0) return;
    const gates = route.gates.filter((gate) => AUTH_GATES.has(gate.name)).map((gate) => gate.name).join(' and ');
    problems.warn(
      [...placeOf(i), 'match'],
      `a request this route's match refuses goes on to ${fallbacks.join(', ')}, which has no basic_auth or forward_auth and sends to the same backends: its ${gates} does not guard those requests; guard that route too, or send it elsewhere (docs/edge-middleware.md)`,
    );
  });
}
