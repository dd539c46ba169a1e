import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Backend } from '../pool/Backend.ts';
import type { Route } from '../Route.ts';
import type { Config } from './schema/index.ts';

/**
 * Reports a `tls` that does nothing, or that turns checks off: a top-level `tls` when no route has
 * an `https://` server is an error (a route's own, compilePool reports), and each `verify: false`
 * is a warning naming the backends whose certificates go unchecked, so that it shows at every
 * start and in `check`.
 * @param routes every route, in the order written: hosts, then paths (`CompiledConfig.routesInOrder`)
 */
export function checkBackendTlsUse(config: Config, routes: readonly Route[], problems: ConfigProblems): void {
  const entries = [...(config.hosts ?? []), ...(config.paths ?? [])];
  const places = [...(config.hosts ?? []).map((_, i) => ['hosts', i]), ...(config.paths ?? []).map((_, i) => ['paths', i])];
  const httpsOf = (route: Route | undefined): Backend[] => (route?.pool.members ?? []).flatMap(({ backend }) => (backend.tls ? [backend] : []));

  if (config.tls && !routes.some((route) => httpsOf(route).length > 0)) {
    problems.add(new ConfigProblem(['tls'], 'tls is for https:// servers, and no route has one: write them as https://HOST:PORT'));
  }
  const unverified = (at: (string | number)[], backends: Backend[]) => {
    const names = [...new Set(backends.map((backend) => backend.name))];
    if (names.length === 0) return;
    const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
    problems.warn(at, `certificates of ${shown} are not verified: anyone on the path to ${names.length === 1 ? 'it' : 'them'} can pose as ${names.length === 1 ? 'it' : 'them'}`);
  };
  if (config.tls?.verify === false) {
    unverified(['tls', 'verify'], entries.flatMap((entry, i) => (entry.tls?.verify === undefined ? httpsOf(routes[i]) : [])));
  }
  entries.forEach((entry, i) => {
    if (entry.tls?.verify === false) unverified([...places[i], 'tls', 'verify'], httpsOf(routes[i]));
  });
}
