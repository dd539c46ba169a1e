import { availableParallelism } from 'node:os';

/** The most workers `--workers` accepts: far more than any machine's cores, few enough to catch a typo. */
const MAX_WORKERS = 256;

/**
 * Reads `--workers`: a number of processes, or `auto` for one per CPU the process may use.
 * @returns undefined when the text is neither
 * @example workerCount('auto') // 2 on a two-CPU machine
 */
export function workerCount(text: string, cpus: () => number = availableParallelism): number | undefined {
  if (text === 'auto') return cpus();
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const count = Number(text);
  return count >= 1 && count <= MAX_WORKERS ? count : undefined;
}
