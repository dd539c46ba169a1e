import type { Guard, RequestRewrite, ResponseRewrite } from '../Route.ts';
import type { Config, HostRouteConfig, PathRouteConfig } from './schema/index.ts';

export interface RouteRules {
  readonly guards: Guard[];
  readonly requestRewrites: RequestRewrite[];
  readonly responseRewrites: ResponseRewrite[];
}

/**
 * Compiles a route's rules (and the global ones that apply to it) into the functions the app runs
 * per request. Throws `ConfigProblem` for a rule that cannot be compiled.
 */
export function compileRouteRules(_entry: HostRouteConfig | PathRouteConfig, _at: readonly (string | number)[], _config: Config): RouteRules {
  return { guards: [], requestRewrites: [], responseRewrites: [] };
}
