import { compileFirewall } from '../firewall/compileFirewall.ts';
import { compileRateLimit } from '../ratelimit/compileRateLimit.ts';
import type { RateLimitStore } from '../RateLimitStore.ts';
import type { Guard, RequestRewrite, ResponseRewrite, RuleLevel } from '../Route.ts';
import { formatPath } from './parseConfig.ts';
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
  /** Where rate limits are shared (`store`); without it each process keeps its own buckets. */
  readonly rateLimitStore?: RateLimitStore;
}

type Rules = Pick<Config, 'header_rules' | 'response_header_rules' | 'param_rules' | 'rewrite_rules' | 'upstream_host' | 'firewall_rules' | 'rate_limit'>;

/** One level of rules (the top level's, or a route's) compiled. */
export interface CompiledLevel {
  readonly firewall?: Guard;
  readonly rateLimit?: Guard;
  readonly level: RuleLevel;
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
  return compileLevel(config, [], options, problems, 'top level');
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
  // What the route is, not where it is written: a shared limit keeps its bucket across configs that move it.
  const route = JSON.stringify(['host' in entry ? entry.host : null, entry.path ?? '/', entry.match ?? null]);
  const local = compileLevel(entry, at, options, problems, route);
  const levels = [global, local];

  const guards = present([...levels.map((l) => l.firewall), ...levels.map((l) => l.rateLimit)]);
  const headers = leveled(levels, (l) => l.headers);
  const params = leveled(levels, (l) => l.params);
  const paths = leveled(levels, (l) => l.path);
  const host = entry.upstream_host !== undefined ? local.host : global.host;
  const responseHeaders = present(levels.map((l) => l.responseHeaders));

  // Named steps, so that `explain` can show the request before and after each.
  const requestRewrites: RequestRewrite[] = [
    ...headers.map(({ level, edit }): RequestRewrite => ({ rule: 'header_rules', level, apply: (exchange, outgoing) => edit(exchange, outgoing.headers) })),
    ...params.map(({ level, edit }): RequestRewrite => ({ rule: 'param_rules', level, apply: (exchange, outgoing) => void (outgoing.query = edit(exchange, outgoing.query)) })),
    ...paths.map(({ level, edit }): RequestRewrite => ({ rule: 'rewrite_rules', level, apply: (_, outgoing) => void (outgoing.path = edit(outgoing.path)) })),
  ];
  const hostLevel = entry.upstream_host !== undefined ? local.level : global.level;
  if (host) requestRewrites.push({ rule: 'upstream_host', level: hostLevel, apply: (_, outgoing) => host(outgoing.headers) });
  const responseRewrites: ResponseRewrite[] = responseHeaders.length === 0 ? [] : [(exchange, response) => responseHeaders.forEach((edit) => edit(exchange, response))];
  return { guards, requestRewrites, responseRewrites };
}

function present<T>(items: readonly (T | undefined)[]): T[] {
  return items.filter((item): item is T => item !== undefined);
}

/** The levels' edits of one kind that are there, each with its level. */
function leveled<T>(levels: readonly CompiledLevel[], edit: (level: CompiledLevel) => T | undefined): { level: RuleLevel; edit: T }[] {
  return levels.flatMap((level) => {
    const found = edit(level);
    return found === undefined ? [] : [{ level: level.level, edit: found }];
  });
}

/** @param scope what the level is (the top level, or a route's host, path and match), naming its shared rate limit */
function compileLevel(rules: Rules, at: readonly (string | number)[], options: RuleCompileOptions, problems: ConfigProblems, scope: string): CompiledLevel {
  const level = at.length === 0 ? 'top level' : formatPath(at);
  const firewall = compileFirewall(rules.firewall_rules, [...at, 'firewall_rules'], problems);
  const rateLimit = compileRateLimit(rules.rate_limit, options.now, options.rateLimitStore && { store: options.rateLimitStore, scope });
  return {
    level,
    firewall: firewall && { rule: 'firewall_rules', level, summary: firewall.checks.join(', '), check: firewall.check },
    rateLimit: rateLimit && { rule: 'rate_limit', level, summary: rateLimit.summary, check: rateLimit.check, ...(rateLimit.shared && { shared: rateLimit.shared }) },
    headers: compileHeaderRules(rules.header_rules, [...at, 'header_rules'], problems),
    responseHeaders: compileHeaderRules(rules.response_header_rules, [...at, 'response_header_rules'], problems),
    params: compileParamRules(rules.param_rules, [...at, 'param_rules'], problems),
    path: compilePathRewrite(rules.rewrite_rules, [...at, 'rewrite_rules'], problems),
    host: problems.attempt(() => compileUpstreamHost(rules.upstream_host, [...at, 'upstream_host'])),
  };
}
