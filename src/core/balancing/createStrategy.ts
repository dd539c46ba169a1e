import type { Balanced, BalancingStrategy, StrategyOptions } from './BalancingStrategy.ts';
import { consistentHashStrategy } from './consistentHash.ts';
import { leastConnectionsStrategy } from './leastConnections.ts';
import { powerOfTwoStrategy } from './powerOfTwo.ts';
import { randomStrategy } from './random.ts';
import { roundRobinStrategy } from './roundRobin.ts';
import { weightedStrategy } from './weighted.ts';

/** A pool's `algorithm`. */
export type Algorithm = 'random' | 'round_robin' | 'weighted' | 'least_connections' | 'power_of_two' | 'consistent_hash';

const strategies: Record<Algorithm, <B extends Balanced>(options: StrategyOptions<B>) => BalancingStrategy<B>> = {
  random: randomStrategy,
  round_robin: roundRobinStrategy,
  weighted: weightedStrategy,
  least_connections: leastConnectionsStrategy,
  power_of_two: powerOfTwoStrategy,
  consistent_hash: consistentHashStrategy,
};

/** Builds the strategy named by a pool's `algorithm`. */
export function createStrategy<B extends Balanced>(algorithm: Algorithm, options: StrategyOptions<B>): BalancingStrategy<B> {
  return strategies[algorithm](options);
}
