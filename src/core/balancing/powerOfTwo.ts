import type { Balanced, BalancingStrategy, Member, StrategyOptions } from './BalancingStrategy.ts';

/**
 * Power of two choices (Mitzenmacher): two distinct members drawn at random in proportion to
 * their weights; the one with fewer requests in flight per unit of weight wins, the first drawn on
 * a tie. Nearly as even as least connections, without its herding when many balancers act on
 * stale counts; an idle pool is spread by weight.
 */
export function powerOfTwoStrategy<B extends Balanced>({ random }: StrategyOptions<B>): BalancingStrategy<B> {
  return {
    pick(candidates) {
      if (candidates.length === 1) return candidates[0].backend;
      let total = 0;
      for (const member of candidates) total += member.weight;
      const a = draw(candidates, random() * total, undefined);
      const b = draw(candidates, random() * (total - a.weight), a);
      return b.backend.inFlight / b.weight < a.backend.inFlight / a.weight ? b.backend : a.backend;
    },
  };
}

/** The member at `point` along the weights, skipping `skip`. */
function draw<M extends Member>(candidates: readonly M[], point: number, skip: M | undefined): M {
  let last = candidates[0];
  for (const member of candidates) {
    if (member === skip) continue;
    last = member;
    point -= member.weight;
    if (point < 0) return member;
  }
  return last;
}
