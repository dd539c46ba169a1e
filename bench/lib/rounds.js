// Interleaved measurement: every candidate once per round (A B C ... A B C ...), so a burst of
// machine noise (another tenant, a GC in the harness, thermal drift) lands on all of them
// instead of on whichever happened to run at that minute. The summary is the median per candidate.
import { drive } from './load.js';
import { median, sum } from './stats.js';
import { isStopping } from './children.js';

/**
 * Measures every started (`ok`) entry of `lineup`, filling `entry.runs` and `entry.summary`.
 * Every run is preceded by `warmupSeconds` of the same load, unmeasured. Not only the first: a
 * candidate idles for the whole of the others' turns (about a minute), and the V8 runtimes take
 * seconds to get back to speed after such a pause (Deno up to about 5 s; docs/performance.md,
 * "Warm-up"). nginx and HAProxy are at full speed at once, so the warm-up favours no one.
 * `probe(entry)`, when given, is called just before each measured run and returns a function that
 * is called with the run just after it; what that returns is added to the run (lib/cpu.js's cost).
 * `orderFor(entries, round)`, when given, is the order of a round (the `oplog` scenario rotates it,
 * so that no candidate always runs first); `entry.runs[i]` is round i + 1 whatever the order.
 */
export async function measureInRounds(lineup, { rounds, seconds, warmupSeconds, connections, probe, orderFor = (entries) => entries, log = console.error }) {
  const active = lineup.filter((entry) => entry.ok);
  for (const entry of active) entry.runs = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const entry of orderFor(active, round)) {
      const target = { url: entry.url + entry.path, headers: entry.headers, connections };
      try {
        await drive({ ...target, seconds: warmupSeconds });
        const measured = probe?.(entry);
        const run = await drive({ ...target, seconds });
        if (measured) Object.assign(run, measured(run));
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
