import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { Mirror } from '../pool/Mirror.ts';
import type { RouteTarget } from '../Route.ts';
import { namedPool, type TargetCompileContext } from './compileTarget.ts';
import type { RouteConfig } from './schema/index.ts';

/**
 * Compiles a route's `mirror`. A route that answers itself sends nothing anywhere, so it has
 * nothing to copy; a copy to the pool the requests already go to doubles that pool's load for no
 * comparison, which is most likely a slip (a warning).
 * @throws ConfigProblem for an unknown pool or a route that answers itself
 */
export function compileMirror(entry: RouteConfig, at: readonly (string | number)[], target: RouteTarget, context: TargetCompileContext, problems: ConfigProblems): Mirror | undefined {
  if (!entry.mirror) return undefined;
  const place = [...at, 'mirror'];
  context.used.add(entry.mirror.pool);
  if (target.kind === 'answer') throw new ConfigProblem(place, `this route answers itself (${target.key}) and forwards nothing: there is no request to copy`);
  const pool = namedPool(entry.mirror.pool, [...place, 'pool'], context);
  const sendsTo = target.kind === 'pool' ? [target.pool] : target.split.sides.map((side) => side.pool);
  if (sendsTo.includes(pool)) problems.warn([...place, 'pool'], `the route's requests already go to pool "${entry.mirror.pool}": its backends would get each copied request twice`);
  return new Mirror(pool, entry.mirror.percent ?? 100, context.pools.random);
}
