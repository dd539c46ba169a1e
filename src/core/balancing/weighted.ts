import type { Balanced, BalancingStrategy } from './BalancingStrategy.ts';

/**
 * Smooth weighted round robin, as nginx does it (ngx_http_upstream_get_peer): every pick adds each
 * candidate's weight to its running score, takes the highest score and subtracts the total from
 * it. Weights 5:1:1 give `a a b a c a a`, not `a a a a a b c`, so no backend gets a burst.
 */
export function weightedStrategy<B extends Balanced>(): BalancingStrategy<B> {
  const scores = new Map<B, number>();
  return {
    pick(candidates) {
      let total = 0;
      let best = candidates[0];
      let bestScore = -Infinity;
      for (const member of candidates) {
        const score = (scores.get(member.backend) ?? 0) + member.weight;
        scores.set(member.backend, score);
        total += member.weight;
        if (score > bestScore) {
          best = member;
          bestScore = score;
        }
      }
      scores.set(best.backend, bestScore - total);
      return best.backend;
    },
  };
}
