import { compileFirewall } from '../firewall/compileFirewall.ts';
import { compileRateLimit } from '../ratelimit/compileRateLimit.ts';
import type { Guard, RequestRewrite, ResponseRewrite } from '../Route.ts';
import { compileHeaderRules, type HeaderEdit } from '../rules/compileHeaderRules.ts';
import { compileParamRules, type QueryEdit } from '../rules/compileParamRules.ts';
import { compilePathRewrite, type PathRewrite } from '../rules/compilePathRewrite.ts';
import { compileUpstreamHost, type HostEdit } from '../rules/compileUpstreamHost.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Config, HostRouteConfig, PathRouteConfig } from './schema/index.ts';

/** What a route's rules compile to: the parts of a `Route` that act on each exchange. */
export interface RouteRules {
  readonly guards: Guard[];
  readonly requestRewrites: RequestRewrite[];
  readonly responseRewrites: ResponseRewrite[];
}

/** Capabilities the rules are compiled with. */
export interface RuleCompileOptions {
  /** The rate limiter's clock, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

type RuleLevel = Pick<Config, 'header_rules' | 'response_header_rules' | 'param_rules' | 'rewrite_rules' | 'upstream_host' | 'firewall_rules' | 'rate_limit'>;

/** One level of rules (the top level's, or a route's) compiled. */
export interface CompiledLevel {
  readonly firewall?: Guard;
  readonly rateLimit?: Guard;
  readonly headers?: HeaderEdit;
  readonly responseHeaders?: HeaderEdit;
  readonly params?: QueryEdit;
  readonly path?: PathRewrite;
  readonly host?: HostEdit;
}

/**
 * Compiles the top-level rules, once per compiled config: every route of that config shares them,
 * and with them one global rate limiter (no other config's).
 */
export function compileGlobalRules(config: Config, options: RuleCompileOptions, problems: ConfigProblems): CompiledLevel {
  return compileLevel(config, [], options, problems);
}

/**
 * Compiles a route's rules, with the global ones from `compileGlobalRules`, into the functions the
 * app runs per request, in the order documented in the README (Request rules, firewall and rate
 * limiting). Top-level rules run first and route rules second, so a route's header, query and
 * path rules have the last word:
 * - guards: firewall (global, route), then rate limit (global, route);
 * - request: header rules, query rules, path rewrites (each global, then route), then the upstream
 *   Host (the route's `upstream_host`, else the global one);
 * - response: header rules, global then route.
 * A rule that cannot be compiled is recorded in `problems`; the others still are.
 */
export function compileRouteRules(
  entry: HostRouteConfig | PathRouteConfig,
  at: readonly (string | number)[],
  global: CompiledLevel,
  options: RuleCompileOptions,
  problems: ConfigProblems,
): RouteRules {
  const local = compileLevel(entry, at, options, problems);
  const levels = [global, local];

  const guards = present([...levels.map((l) => l.firewall), ...levels.map((l) => l.rateLimit)]);
  const headers = present(levels.map((l) => l.headers));
  const params = present(levels.map((l) => l.params));
  const paths = present(levels.map((l) => l.path));
  const host = entry.upstream_host !== undefined ? local.host : global.host;
  const responseHeaders = present(levels.map((l) => l.responseHeaders));

  const requestRewrites: RequestRewrite[] = [];
  if (headers.length + params.length + paths.length > 0 || host) {
    requestRewrites.push((exchange, outgoing) => {
      for (const edit of headers) edit(exchange, outgoing.headers);
      for (const edit of params) outgoing.query = edit(exchange, outgoing.query);
      for (const rewrite of paths) outgoing.path = rewrite(outgoing.path);
      host?.(outgoing.headers);
    });
  }
  const responseRewrites: ResponseRewrite[] = responseHeaders.length === 0 ? [] : [(exchange, response) => responseHeaders.forEach((edit) => edit(exchange, response))];
  return { guards, requestRewrites, responseRewrites };
}

function present<T>(items: readonly (T | undefined)[]): T[] {
  return items.filter((item): item is T => item !== undefined);
}

function compileLevel(level: RuleLevel, at: readonly (string | number)[], options: RuleCompileOptions, problems: ConfigProblems): CompiledLevel {
  return {
    firewall: compileFirewall(level.firewall_rules, [...at, 'firewall_rules'], problems),
    rateLimit: compileRateLimit(level.rate_limit, options.now),
    headers: compileHeaderRules(level.header_rules, [...at, 'header_rules'], problems),
    responseHeaders: compileHeaderRules(level.response_header_rules, [...at, 'response_header_rules'], problems),
    params: compileParamRules(level.param_rules, [...at, 'param_rules'], problems),
    path: compilePathRewrite(level.rewrite_rules, [...at, 'rewrite_rules'], problems),
    host: problems.attempt(() => compileUpstreamHost(level.upstream_host, [...at, 'upstream_host'])),
  };
}
