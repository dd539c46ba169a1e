import type { BalancingStrategy, StrategyOptions } from './BalancingStrategy.ts';

/**
 * Power of two choices (Mitzenmacher): two distinct members at random, the one with fewer
 * requests in flight per unit of weight wins. Nearly as even as least connections, without its
 * herding when many balancers share stale counts.
 */
export function powerOfTwoStrategy({ random }: StrategyOptions): BalancingStrategy {
  return {
    pick(candidates) {
      if (candidates.length === 1) return candidates[0].backend;
      const i = Math.floor(random() * candidates.length);
      let j = Math.floor(random() * (candidates.length - 1));
      if (j >= i) j++;
      const [a, b] = [candidates[i], candidates[j]];
      return b.backend.inFlight / b.weight < a.backend.inFlight / a.weight ? b.backend : a.backend;
    },
  };
}
