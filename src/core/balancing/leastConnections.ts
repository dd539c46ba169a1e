import type { BalancingStrategy, StrategyOptions } from './BalancingStrategy.ts';

/**
 * The tutorial's least connections: the member with the fewest requests in flight per unit of
 * weight. Ties are broken at random, so an idle pool does not send every request to its first member.
 */
export function leastConnectionsStrategy({ random }: StrategyOptions): BalancingStrategy {
  return {
    pick(candidates) {
      let best = Infinity;
      let tied: typeof candidates[number][] = [];
      for (const member of candidates) {
        const load = member.backend.inFlight / member.weight;
        if (load < best) {
          best = load;
          tied = [member];
        } else if (load === best) {
          tied.push(member);
        }
      }
      return tied[Math.floor(random() * tied.length)].backend;
    },
  };
}
