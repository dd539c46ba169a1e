// Interleaved measurement: every candidate once per round (A B C ... A B C ...), so a burst of
// machine noise (another tenant, a GC in the harness, thermal drift) lands on all of them
// instead of on whichever happened to run at that minute. The summary is the median per candidate.
import { drive } from './load.js';
import { median, sum } from './stats.js';
import { isStopping } from './children.js';

/**
 * Measures every started (`ok`) entry of `lineup`, filling `entry.runs` and `entry.summary`.
 * The first round warms up for `warmupSeconds` (JIT, connection pools); later rounds for 1 s,
 * enough to reopen the load generator's connections.
 */
export async function measureInRounds(lineup, { rounds, seconds, warmupSeconds, connections, log = console.error }) {
  const active = lineup.filter((entry) => entry.ok);
  for (const entry of active) entry.runs = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const entry of active) {
      const target = { url: entry.url + entry.path, headers: entry.headers, connections };
      try {
        await drive({ ...target, seconds: round === 1 ? warmupSeconds : Math.min(1, warmupSeconds) });
        const run = await drive({ ...target, seconds });
        entry.runs.push(run);
        log(`  round ${round}/${rounds} ${entry.name.padEnd(26)} ${Math.round(run.reqPerSec).toString().padStart(7)} req/s  p99 ${run.p99Ms.toFixed(2)} ms  errors ${run.errors}`);
      } catch (error) {
        if (isStopping()) return lineup;
        entry.runs.push({ failed: error.message });
        log(`  round ${round}/${rounds} ${entry.name} failed: ${error.message}`);
      }
    }
  }
  for (const entry of active) entry.summary = summarize(entry.runs);
  return lineup;
}

export function summarize(runs) {
  const good = runs.filter((run) => !run.failed);
  return {
    reqPerSec: median(good.map((run) => run.reqPerSec)),
    p50Ms: median(good.map((run) => run.p50Ms)),
    p99Ms: median(good.map((run) => run.p99Ms)),
    // Errors are summed, not medianed: one bad round is worth seeing.
    errors: sum(good.map((run) => run.errors)),
    requests: sum(good.map((run) => run.requests)),
    failedRuns: runs.length - good.length,
  };
}
