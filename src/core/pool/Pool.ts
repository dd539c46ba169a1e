import type { BalancingStrategy, PickRequest } from '../balancing/BalancingStrategy.ts';
import type { Backend } from './Backend.ts';

/** A route's backends and how one is chosen among them. */
export interface PoolMember {
  readonly backend: Backend;
  readonly weight: number;
}

export class Pool {
  readonly members: readonly PoolMember[];
  readonly #strategy: BalancingStrategy;

  constructor(members: readonly PoolMember[], strategy: BalancingStrategy) {
    this.members = members;
    this.#strategy = strategy;
  }

  /** Picks a healthy backend for the request, or undefined when none is healthy. */
  pick(request: PickRequest): Backend | undefined {
    const healthy = this.members.filter((member) => member.backend.healthy);
    if (healthy.length === 0) return undefined;
    return this.#strategy.pick(healthy, request);
  }
}
