import type { BalancingStrategy, StrategyOptions } from './BalancingStrategy.ts';

/** Picks uniformly at random among the healthy members: the tutorial's choice, and the default. */
export function randomStrategy({ random }: StrategyOptions): BalancingStrategy {
  return {
    pick: (candidates) => candidates[Math.floor(random() * candidates.length)].backend,
  };
}
