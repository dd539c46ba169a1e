import type { BalancingStrategy, StrategyOptions } from './BalancingStrategy.ts';
import { randomStrategy } from './random.ts';

export type Algorithm = 'random';

const strategies: Record<Algorithm, (options: StrategyOptions) => BalancingStrategy> = {
  random: randomStrategy,
};

/** Builds the strategy named by a pool's `algorithm`. */
export function createStrategy(algorithm: Algorithm, options: StrategyOptions): BalancingStrategy {
  return strategies[algorithm](options);
}
