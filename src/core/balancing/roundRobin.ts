import type { Balanced, BalancingStrategy } from './BalancingStrategy.ts';

/**
 * Takes the healthy members in turn. Weights are not allowed with it (the config says so);
 * `weighted` is round robin that honours them.
 */
export function roundRobinStrategy<B extends Balanced>(): BalancingStrategy<B> {
  let next = 0;
  return {
    pick(candidates) {
      const member = candidates[next % candidates.length];
      next = (next + 1) % 0x7fffffff;
      return member.backend;
    },
  };
}
