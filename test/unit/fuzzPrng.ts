import { seededRandom } from '../helpers/manualClock.ts';

/** A seeded PRNG (the same mulberry32 the clock helper uses), so every fuzz failure reproduces from its seed. */
export const prng = (seed: number): (() => number) => seededRandom(seed);

export const pickFrom = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];
export const intBelow = (random: () => number, n: number): number => Math.floor(random() * n);
