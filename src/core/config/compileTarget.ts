import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { Pool } from '../pool/Pool.ts';
import { Split, type SplitSide } from '../pool/Split.ts';
import type { RouteTarget } from '../Route.ts';
import { compileRedirect } from '../routeAnswers/redirectAnswer.ts';
import { compileRespond } from '../routeAnswers/respondAnswer.ts';
import { compilePool, type PoolCompileContext } from './compilePool.ts';
import { formatPath } from './parseConfig.ts';
import { poolSettingEntries } from './schema/pool.ts';
import { TARGET_KEYS } from './schema/target.ts';
import type { RouteConfig } from './schema/index.ts';
import { suggest } from './suggest.ts';
import { hash32 } from '../balancing/hash32.ts';

/** The keys of a pool, which a route that names a pool, splits or answers itself does not take. */
const POOL_KEYS = ['servers', ...Object.keys(poolSettingEntries)] as (keyof RouteConfig & keyof typeof poolSettingEntries | 'servers')[];

/** What compiling targets shares: the pool context, the named pools, and which of them routes use. */
export interface TargetCompileContext {
  readonly pools: PoolCompileContext;
  /** The top-level `pools`, compiled, by name. */
  readonly named: ReadonlyMap<string, Pool & { readonly name: string }>;
  /** Named pools some route sends to, to warn of the others. */
  readonly used: Set<string>;
}

/** A route's target and the pools it may send to. */
export interface CompiledTarget {
  readonly target: RouteTarget;
  readonly pools: readonly Pool[];
}

/**
 * Compiles where a route's requests go: exactly one of its own `servers`, a named `pool`, a
 * `split` between named pools, a `redirect` or a `respond`. A route that names a pool, splits or
 * answers itself may not carry pool keys (they belong to the named pool, shared by every route
 * naming it), except `sticky` on a split, which keeps a client on its side.
 * @throws ConfigProblem for the first thing that keeps the target from being compiled
 */
export function compileTarget(entry: RouteConfig, at: readonly (string | number)[], context: TargetCompileContext): CompiledTarget {
  // Named, the pool is used, even by a route refused below: one problem is enough to report.
  for (const name of [entry.pool, ...(entry.split ?? []).map((side) => side.pool)]) if (name !== undefined) context.used.add(name);
  const given = TARGET_KEYS.filter((key) => entry[key] !== undefined);
  if (given.length === 0) throw new ConfigProblem(at, `a route needs servers, or one of pool, split, redirect or respond`);
  if (given.length > 1) {
    throw new ConfigProblem([...at, given[1]], `a route has exactly one of ${TARGET_KEYS.join(', ')}; this one has ${given.join(' and ')}`);
  }
  const [key] = given;
  if (key === 'servers') {
    const pool = compilePool({ ...entry, servers: entry.servers! }, at, context.pools);
    return { target: { kind: 'pool', pool }, pools: [pool] };
  }
  refuseOwnPoolKeys(entry, at, key);
  if (entry.pool !== undefined) {
    const pool = namedPool(entry.pool, [...at, 'pool'], context);
    return { target: { kind: 'pool', pool }, pools: [pool] };
  }
  if (entry.split) {
    const sides: SplitSide[] = entry.split.map((side, i) => {
      const place = [...at, 'split', i];
      if (entry.split!.findIndex((other) => other.pool === side.pool) !== i) throw new ConfigProblem([...place, 'pool'], `pool "${side.pool}" is already a side of this split`);
      return { pool: namedPool(side.pool, [...place, 'pool'], context), weight: side.weight };
    });
    if (sides.every((side) => side.weight === 0)) throw new ConfigProblem([...at, 'split'], 'every side of this split has weight 0: give at least one side a weight');
    const sticky = entry.sticky === undefined || entry.sticky === false ? undefined : entry.sticky === true ? {} : entry.sticky;
    const split = new Split(sides, context.pools.random, sticky && { cookie: sticky.cookie ?? defaultSplitCookie(entry), maxAgeMs: sticky.max_age });
    return { target: { kind: 'split', split }, pools: sides.map((side) => side.pool) };
  }
  if (entry.redirect) {
    const status = entry.redirect.status ?? 308;
    return { target: { kind: 'answer', key: 'redirect', status, answer: compileRedirect(entry.redirect, [...at, 'redirect']) }, pools: [] };
  }
  const respond = entry.respond!;
  return { target: { kind: 'answer', key: 'respond', status: respond.status ?? 200, answer: compileRespond(respond, [...at, 'respond']) }, pools: [] };
}

/** A named pool; an unknown name is refused with the nearest known one. */
export function namedPool(name: string, at: readonly (string | number)[], context: TargetCompileContext): Pool & { readonly name: string } {
  const pool = context.named.get(name);
  if (pool) return pool;
  const known = [...context.named.keys()];
  const guess = suggest(name, known);
  // The pool meant is not also reported as unused.
  if (guess) context.used.add(guess);
  const hint =
    known.length === 0
      ? `there is no top-level pools map: add one, as pools: { ${name}: { servers: [HOST:PORT] } }`
      : guess
        ? `did you mean "${guess}"?`
        : `the pools are ${known.map((each) => `"${each}"`).join(', ')}`;
  throw new ConfigProblem(at, `unknown pool "${name}"; ${hint}`);
}

/** Refuses pool keys on a route whose backends are not its own: they would do nothing there. */
function refuseOwnPoolKeys(entry: RouteConfig, at: readonly (string | number)[], target: 'pool' | 'split' | 'redirect' | 'respond'): void {
  for (const key of POOL_KEYS) {
    if (entry[key] === undefined || (target === 'split' && key === 'sticky')) continue;
    const where =
      target === 'pool'
        ? `this route sends to pool "${entry.pool}": set ${key} in ${formatPath(['pools', entry.pool!])}, which every route naming it shares`
        : target === 'split'
          ? `this route splits between named pools: set ${key} in each of them (${entry.split!.map((side) => formatPath(['pools', side.pool])).join(', ')})`
          : `this route answers itself (${target}) and has no backends: ${key} does nothing here`;
    throw new ConfigProblem([...at, key], where);
  }
}

/**
 * A sticky split's cookie, unless named: one per route (`switchyard_split_` and a hash of its host,
 * path and match), since every route's cookie goes to the whole site (`Path=/`): under one shared name,
 * two splits would each find the other's side in it, draw again and overwrite it, and neither
 * would stay sticky.
 */
function defaultSplitCookie(entry: RouteConfig): string {
  const host = 'host' in entry && typeof entry.host === 'string' ? entry.host.toLowerCase() : '';
  // The match too: a canary route beside the general one serves the same host and path.
  const match = entry.match === undefined ? '' : JSON.stringify(entry.match);
  return `switchyard_split_${hash32(host + (entry.path ?? '/') + match).toString(16).padStart(8, '0')}`;
}
