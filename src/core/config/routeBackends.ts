import type { Backend } from '../pool/Backend.ts';
import type { Route } from '../Route.ts';

/** Every backend a route may send to, through any of its pools (a backend may be in several). */
export function routeBackends(route: Route): Backend[] {
  return route.pools.flatMap((pool) => pool.members.map((member) => member.backend));
}
