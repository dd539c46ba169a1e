import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Route } from '../Route.ts';
import { isUnder, routePrefix } from './routePrefix.ts';

const AUTH_GATES = new Set(['basic_auth', 'forward_auth']);

/**
 * Warns of a route with `basic_auth` or `forward_auth` and a `match` whose refusals are not
 * refusals: a request that does not match (another method, a missing header) goes to the next
 * route that serves it, and when that route has no such gate and sends to one of the same pools,
 * it reaches the backend unchecked (`DELETE /admin/users/1` past a `match: { methods: [GET] }`).
 * Kept simple: the same host as written (or both path-only) and a path that contains this one's;
 * a warning, since the fallback may be meant (a public read route beside a guarded write one).
 */
export function warnAuthFallbacks(routes: readonly Route[], placeOf: (index: number) => (string | number)[], problems: ConfigProblems): void {
  const guarded = (route: Route) => route.gates.some((gate) => AUTH_GATES.has(gate.name));
  routes.forEach((route, i) => {
    const prefix = routePrefix(route.path);
    if (!route.match || !guarded(route) || prefix === undefined) return;
    const fallbacks = routes.flatMap((other) => {
      const otherPrefix = routePrefix(other.path);
      if (other === route || guarded(other) || otherPrefix === undefined) return [];
      if (other.host?.toLowerCase() !== route.host?.toLowerCase() || !isUnder(prefix, otherPrefix)) return [];
      const shared = other.pools.filter((pool) => route.pools.includes(pool));
      return shared.length === 0 ? [] : [`${other.at} (${other.name}${shared[0].name ? `, pool "${shared[0].name}"` : ''})`];
    });
    if (fallbacks.length === 0) return;
    const gates = route.gates.filter((gate) => AUTH_GATES.has(gate.name)).map((gate) => gate.name).join(' and ');
    problems.warn(
      [...placeOf(i), 'match'],
      `a request this route's match refuses goes on to ${fallbacks.join(', ')}, which has no basic_auth or forward_auth and sends to the same backends: its ${gates} does not guard those requests; guard that route too, or send it elsewhere (docs/edge-middleware.md)`,
    );
  });
}
