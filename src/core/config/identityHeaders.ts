import type { Backend } from '../pool/Backend.ts';
import { routeBackends } from './routeBackends.ts';
import type { RequestRewrite, Route } from '../Route.ts';
import type { Config } from './schema/index.ts';

/** A route's first request rule: removes the identity headers `fillIdentityHeaders` gives it. */
export interface IdentityHeadersStep extends RequestRewrite {
  readonly rule: 'identity_headers';
  /** Lower-case names, filled in once every route of the config is compiled. */
  readonly names: string[];
}

/**
 * The step that removes a client's own identity headers (the names gates set: `user_header`,
 * forward_auth's `response_headers`) from a route's requests, before anything else changes them:
 * so that no client sends `X-User: alice` to a guarded backend through a route without the gate
 * (one its request fell back to by `match`, another host on the same pool). The route's own gate
 * sets the header afresh where it lets the request through, and `header_rules`, after it, may
 * still set one.
 */
export function identityHeadersStep(): IdentityHeadersStep {
  const names: string[] = [];
  return {
    rule: 'identity_headers',
    level: 'top level',
    names,
    apply: (_, outgoing) => {
      for (const name of names) outgoing.headers.delete(name);
    },
  };
}

/** Whether a gate anywhere in the config names the client in a header: only then do routes get the step. */
export function namesIdentity(config: Config): boolean {
  return [config, ...(config.hosts ?? []), ...(config.paths ?? [])].some((level) => Boolean((level.basic_auth && level.basic_auth.user_header) || level.forward_auth));
}

/**
 * Gives each route's identity step the names set by the gates of every route sharing one of its
 * backends: only there can a forged header reach a backend that trusts it, so other routes keep
 * theirs (an API on other backends keeps its clients' `Authorization`). A route whose own
 * basic_auth checks and forwards the client's `Authorization` keeps that one. Linear in the
 * routes' backends.
 */
export function fillIdentityHeaders(routes: readonly Route[]): void {
  const byBackend = new Map<Backend, Set<string>>();
  for (const route of routes) {
    const names = route.gates.flatMap((gate) => gate.identityHeaders ?? []);
    for (const backend of names.length === 0 ? [] : routeBackends(route)) {
      const set = byBackend.get(backend) ?? new Set<string>();
      for (const name of names) set.add(name);
      byBackend.set(backend, set);
    }
  }
  for (const route of routes) {
    const step = route.requestRewrites.find((rewrite): rewrite is IdentityHeadersStep => rewrite.rule === 'identity_headers');
    if (!step) continue;
    const names = new Set(routeBackends(route).flatMap((backend) => [...(byBackend.get(backend) ?? [])]));
    if (route.gates.some((gate) => gate.forwardsAuthorization)) names.delete('authorization');
    step.names.push(...names);
  }
}
