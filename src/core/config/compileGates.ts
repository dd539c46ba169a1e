import type { Gate } from '../Route.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { basicAuthGate } from '../gates/basicAuth.ts';
import { corsGate, DEFAULT_CORS_METHODS } from '../gates/cors.ts';
import { forwardAuthGate } from '../gates/forwardAuth.ts';
import { maxRequestBodyGate } from '../gates/maxRequestBody.ts';
import { parsePasswordHash, type PasswordHash } from '../gates/passwordHash.ts';
import { InlinePasswordChecks } from '../gates/InlinePasswordChecks.ts';
import type { PasswordChecks } from '../gates/PasswordChecks.ts';
import type { Config, HostRouteConfig, PathRouteConfig } from './schema/index.ts';

type GateKey = 'cors' | 'basic_auth' | 'forward_auth' | 'max_request_body';
type GateLevel = Pick<Config, GateKey>;

/** The order gates run in on every route: the request lifecycle's (docs/edge-middleware.md). */
const ORDER: readonly GateKey[] = ['cors', 'basic_auth', 'forward_auth', 'max_request_body'];

/** Forward-auth answers wait this long by default: an auth service is asked on every request, and should be quick. */
const DEFAULT_FORWARD_AUTH_TIMEOUT = 5_000;

/**
 * The top level's gates, compiled once, and the password checks every `basic_auth` of the config
 * shares: routes that inherit a gate share it (one verdict cache for a top-level `basic_auth`).
 */
export interface GlobalGates {
  readonly byKey: ReadonlyMap<GateKey, Gate>;
  readonly passwordChecks: PasswordChecks;
}

/** @param passwordChecks where the runtime runs password checks (default: inline, bounded per config) */
export function compileGlobalGates(config: Config, problems: ConfigProblems, passwordChecks: PasswordChecks = new InlinePasswordChecks()): GlobalGates {
  const byKey = new Map<GateKey, Gate>();
  for (const key of ORDER) {
    const gate = compileGate(config, key, [key], passwordChecks, problems);
    if (gate) byKey.set(key, gate);
  }
  return { byKey, passwordChecks };
}

/**
 * A route's gates, in the lifecycle's order. Each key is the route's when it sets one (`false`
 * turning the top level's off), else the top level's: a route's `basic_auth` replaces the top
 * level's users, it does not add to them.
 */
export function compileRouteGates(entry: HostRouteConfig | PathRouteConfig, at: readonly (string | number)[], global: GlobalGates, problems: ConfigProblems): Gate[] {
  const gates: Gate[] = [];
  for (const key of ORDER) {
    const gate = entry[key] === undefined ? global.byKey.get(key) : compileGate(entry, key, [...at, key], global.passwordChecks, problems);
    if (gate) gates.push(gate);
  }
  return gates;
}

function compileGate(level: GateLevel, key: GateKey, at: (string | number)[], passwordChecks: PasswordChecks, problems: ConfigProblems): Gate | undefined {
  switch (key) {
    case 'cors': {
      const value = level.cors;
      if (!value) return undefined;
      if (value.origins === '*' && value.credentials) {
        problems.add(new ConfigProblem([...at, 'credentials'], 'credentials: true cannot go with origins: "*" (browsers refuse the pair); list the origins allowed'));
        return undefined;
      }
      return corsGate({
        origins: value.origins,
        methods: (value.methods ?? DEFAULT_CORS_METHODS).map((method) => method.toUpperCase()),
        headers: value.headers,
        exposeHeaders: value.expose_headers ?? [],
        credentials: value.credentials ?? false,
        maxAge: value.max_age === undefined ? undefined : Math.ceil(value.max_age / 1000),
      });
    }
    case 'basic_auth': {
      const value = level.basic_auth;
      if (!value) return undefined;
      const users = new Map<string, PasswordHash>();
      for (const [name, text] of Object.entries(value.users)) {
        // The schema has checked each hash already: this only keeps its parsed form.
        const hash = parsePasswordHash(text);
        if (typeof hash === 'string') problems.add(new ConfigProblem([...at, 'users', name], hash));
        else users.set(name, hash);
      }
      if (users.size === 0) return undefined;
      return basicAuthGate({ realm: value.realm ?? 'Restricted', users, forwardAuthorization: value.forward_authorization ?? false, userHeader: value.user_header?.toLowerCase() }, passwordChecks);
    }
    case 'forward_auth': {
      const value = level.forward_auth;
      if (!value) return undefined;
      let url: URL;
      try {
        url = new URL(value.url);
      } catch {
        problems.add(new ConfigProblem([...at, 'url'], `"${value.url}" is not a valid URL`));
        return undefined;
      }
      return forwardAuthGate({
        origin: url.origin,
        target: url.pathname + url.search,
        tls: url.protocol === 'https:' ? { servername: url.hostname.replace(/^\[|\]$/g, ''), verify: true } : undefined,
        requestHeaders: value.request_headers && new Set(value.request_headers.map((name) => name.toLowerCase())),
        responseHeaders: (value.response_headers ?? []).map((name) => name.toLowerCase()),
        timeout: value.timeout ?? DEFAULT_FORWARD_AUTH_TIMEOUT,
      });
    }
    case 'max_request_body': {
      const value = level.max_request_body;
      return value === false || value === undefined ? undefined : maxRequestBodyGate(value);
    }
  }
}
