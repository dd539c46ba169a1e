import type { Balanced, BalancingStrategy, StrategyOptions } from './BalancingStrategy.ts';

/**
 * Picks at random among the healthy members, in proportion to their weights (all 1 by default,
 * so uniformly): the tutorial's choice, and the default.
 */
export function randomStrategy<B extends Balanced>({ random }: StrategyOptions<B>): BalancingStrategy<B> {
  return {
    pick(candidates) {
      let total = 0;
      for (const member of candidates) total += member.weight;
      let point = random() * total;
      for (const member of candidates) {
        point -= member.weight;
        if (point < 0) return member.backend;
      }
      return candidates[candidates.length - 1].backend;
    },
  };
}
