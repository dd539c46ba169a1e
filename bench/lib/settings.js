// The run settings from the environment (docs/performance.md, "Running the benchmark"), with each
// script's own defaults: bench/run.js drives 50 connections for 5 s, bench/spread.js 8 for 3 s.

/** A positive number from the environment variable `name`, else `fallback`. */
export const envNumber = (name, fallback) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

/** BENCH_DURATION, BENCH_ROUNDS, BENCH_WARMUP, BENCH_CONNECTIONS and BENCH_START_TIMEOUT, over `defaults`. */
export function runSettings(defaults) {
  return {
    seconds: envNumber('BENCH_DURATION', defaults.seconds),
    rounds: Math.round(envNumber('BENCH_ROUNDS', defaults.rounds)),
    warmupSeconds: envNumber('BENCH_WARMUP', defaults.warmupSeconds),
    connections: Math.round(envNumber('BENCH_CONNECTIONS', defaults.connections)),
    startTimeoutMs: envNumber('BENCH_START_TIMEOUT', 10) * 1000,
  };
}
