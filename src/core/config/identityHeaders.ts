import type { RequestRewrite } from '../Route.ts';
import type { Config } from './schema/index.ts';

type GateLevel = Pick<Config, 'basic_auth' | 'forward_auth'>;

/**
 * The header names some gate of the config sets as the client's identity, lowercased:
 * `basic_auth.user_header` and `forward_auth.response_headers`, at the top level and on every route.
 */
export function identityHeaderNames(config: Config): string[] {
  const levels: GateLevel[] = [config, ...(config.hosts ?? []), ...(config.paths ?? [])];
  const names = new Set<string>();
  for (const level of levels) {
    if (level.basic_auth && level.basic_auth.user_header) names.add(level.basic_auth.user_header.toLowerCase());
    if (level.forward_auth) for (const name of level.forward_auth.response_headers ?? []) names.add(name.toLowerCase());
  }
  return [...names];
}

/**
 * Removes every identity header of the config from a request, on every route, before anything
 * else changes it: a client cannot send `X-User: alice` to a backend through a route without the
 * gate (one its request fell back to, another host on the same pool), and a route's own gate sets
 * it afresh where it lets the request through. A request rule (`header_rules`) runs after, so the
 * config itself may still set one. Undefined when no gate names one.
 */
export function identityHeadersRewrite(config: Config): RequestRewrite | undefined {
  const names = identityHeaderNames(config);
  if (names.length === 0) return undefined;
  return { rule: 'identity_headers', level: 'top level', apply: (_, outgoing) => names.forEach((name) => outgoing.headers.delete(name)) };
}
