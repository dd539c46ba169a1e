import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Backend } from '../pool/Backend.ts';
import type { Pool } from '../pool/Pool.ts';
import type { Config } from './schema/index.ts';

/** A pool written out in the config: where, its own `tls` key, and the pool compiled from it. */
export interface PoolPlace {
  readonly at: readonly (string | number)[];
  readonly tls: Config['tls'];
  readonly pool: Pool;
}

/**
 * Reports a `tls` that does nothing, or that turns checks off: a top-level `tls` when no route has
 * an `https://` server is an error (a route's own, compilePool reports), and each `verify: false`
 * is a warning naming the backends whose certificates go unchecked, so that it shows at every
 * start and in `check`.
 * @param places every pool written out: each named pool, and each route's own
 */
export function checkBackendTlsUse(config: Config, places: readonly PoolPlace[], problems: ConfigProblems): void {
  const httpsOf = (pool: Pool): Backend[] => pool.members.flatMap(({ backend }) => (backend.tls ? [backend] : []));

  if (config.tls && !places.some((place) => httpsOf(place.pool).length > 0)) {
    problems.add(new ConfigProblem(['tls'], 'tls is for https:// servers, and no route or pool has one: write them as https://HOST:PORT'));
  }
  const unverified = (at: readonly (string | number)[], backends: Backend[]) => {
    const names = [...new Set(backends.map((backend) => backend.name))];
    if (names.length === 0) return;
    const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
    problems.warn(at, `certificates of ${shown} are not verified: anyone on the path to ${names.length === 1 ? 'it' : 'them'} can pose as ${names.length === 1 ? 'it' : 'them'}`);
  };
  if (config.tls?.verify === false) {
    unverified(['tls', 'verify'], places.flatMap((place) => (place.tls?.verify === undefined ? httpsOf(place.pool) : [])));
  }
  for (const place of places) {
    if (place.tls?.verify === false) unverified([...place.at, 'tls', 'verify'], httpsOf(place.pool));
  }
}
