import type { Balanced, BalancingStrategy, StrategyOptions } from './BalancingStrategy.ts';
import { randomStrategy } from './random.ts';

/**
 * The tutorial's least connections: the member with the fewest requests in flight per unit of
 * weight. Ties are broken at random in proportion to the weights (as nginx's `least_conn` breaks
 * them by weighted round robin), so an idle pool neither sends everything to its first member
 * nor forgets the weights.
 */
export function leastConnectionsStrategy<B extends Balanced>(options: StrategyOptions<B>): BalancingStrategy<B> {
  const tieBreak = randomStrategy(options);
  return {
    pick(candidates, request) {
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
      return tied.length === 1 ? tied[0].backend : tieBreak.pick(tied, request);
    },
  };
}
