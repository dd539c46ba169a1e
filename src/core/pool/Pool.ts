import type { BalancingStrategy, Member, PickRequest } from '../balancing/BalancingStrategy.ts';
import type { Algorithm } from '../balancing/createStrategy.ts';
import type { Sticky } from '../balancing/sticky.ts';
import { RetryBudget } from '../retry/RetryBudget.ts';
import { DEFAULT_RETRIES, type RetrySettings } from '../retry/RetrySettings.ts';
import type { Backend } from './Backend.ts';

/** A backend of a pool and its weight. */
export type PoolMember = Member<Backend>;

/** Builds the pool's strategy for its members, again whenever a weight changes at run time. */
export type StrategyFactory = (members: readonly PoolMember[]) => BalancingStrategy<Backend>;

export interface PoolOptions {
  /** Its name in the top-level `pools`; undefined for a route's own pool. */
  readonly name?: string;
  /** The `algorithm` it was built from, for the status page. @default 'random' */
  readonly algorithm?: Algorithm;
  /** @default DEFAULT_RETRIES */
  readonly retries?: RetrySettings;
  /** Pins clients to a backend by cookie; undefined for none. */
  readonly sticky?: Sticky;
  /** Clock for passive health's cool-downs, as each pick sees them, and for the retry budget. @default Date.now */
  readonly now?: () => number;
}

/** Backends and how one is chosen among them: a route's own, or a named pool routes share. */
export class Pool {
  /** Its name in the top-level `pools`; undefined for a route's own pool. */
  readonly name: string | undefined;
  readonly algorithm: Algorithm;
  readonly retries: RetrySettings;
  readonly retryBudget: RetryBudget;
  readonly sticky: Sticky | undefined;
  /** The members with the config's weights. */
  readonly #configured: readonly PoolMember[];
  #members: readonly PoolMember[];
  readonly #makeStrategy: StrategyFactory;
  #strategy: BalancingStrategy<Backend>;
  readonly #now: () => number;

  constructor(members: readonly PoolMember[], makeStrategy: StrategyFactory, options: PoolOptions = {}) {
    this.#configured = this.#members = members;
    this.#makeStrategy = makeStrategy;
    this.#strategy = makeStrategy(members);
    this.name = options.name;
    this.algorithm = options.algorithm ?? 'random';
    this.#now = options.now ?? Date.now;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    this.retryBudget = new RetryBudget(this.retries.budgetRatio, this.retries.budgetMinPerSecond, options.now);
    this.sticky = options.sticky;
  }

  /** The backends and their weights: the config's, or one set at run time (`Backend.weight`). */
  get members(): readonly PoolMember[] {
    return this.#members;
  }

  /**
   * Takes up the weights set at run time on its backends (`Backend.weight`): the strategy is built
   * again, so a ring or a rotation reflects them at once.
   */
  reweigh(): void {
    this.#members = this.#configured.map((member) => (member.backend.weight === undefined ? member : { backend: member.backend, weight: member.backend.weight }));
    this.#strategy = this.#makeStrategy(this.#members);
  }

  /**
   * Picks a backend for the request among those not drained, not down and not in `exclude` (the
   * ones this request already tried), or undefined when none is left. Ejected backends are skipped unless
   * every remaining one is ejected: then they are tried anyway (Envoy's panic mode), because a
   * guess beats a certain 503 when passive health may simply have over-reacted.
   * First ends the ejections whose cool-down is over, so their return is logged as they come back.
   */
  pick(request: PickRequest, exclude?: ReadonlySet<Backend>): Backend | undefined {
    const now = this.#now();
    for (const member of this.#members) member.backend.health.endEjection(now);
    const candidates = this.#candidates(exclude, now);
    if (candidates.length === 0) return undefined;
    return this.sticky?.find(candidates, request.headers) ?? this.#strategy.pick(candidates, request);
  }

  /** Whether `pick` would find a backend outside `exclude`, without moving any strategy's state. */
  hasCandidates(exclude?: ReadonlySet<Backend>): boolean {
    return this.#live(exclude).length > 0;
  }

  /** The members `pick` would choose among now (`explain`), changing nothing: no ejection ended, no strategy's position moved. */
  pickable(): readonly PoolMember[] {
    return this.#candidates(undefined, this.#now());
  }

  #live(exclude: ReadonlySet<Backend> | undefined): readonly PoolMember[] {
    return this.#members.filter((member) => !member.backend.draining && member.backend.health.isUp && !exclude?.has(member.backend));
  }

  #candidates(exclude: ReadonlySet<Backend> | undefined, now: number): readonly PoolMember[] {
    // The common case, every backend fine and none tried yet, allocates nothing.
    if (!exclude && this.#members.every((member) => member.backend.isHealthy(now))) return this.#members;
    const live = this.#live(exclude);
    const healthy = live.filter((member) => !member.backend.health.isEjected(now));
    return healthy.length > 0 ? healthy : live;
  }
}
