// Scenario `longpath`: does a request cost in proportion to its path? Switchyard on Node and on
// Deno, each one process serving two paths in turn: a 20-byte one and a 16 KiB one of 8,192
// segments (`/a/a/...`), through path routes and a path firewall that the long path falls through
// to `/`. Looking up every prefix of the path, as the route table and firewall once did, made the
// long path cost about 150 ms of CPU; walking it once keeps it near the short path's cost.
//
// The cost is the balancer's own CPU time per request (lib/cpu.js), measured over each run: the
// load generator and the backend pay for the long path too, so req/s alone would blur it. The
// target is a ratio taken within each round, the two paths back to back on the same process.
import { startSwitchyard } from '../candidates/switchyard.js';
import { longPathConfig, writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { measureInRounds } from '../lib/rounds.js';
import { readGroupCpuSeconds } from '../lib/cpu.js';
import { median } from '../lib/stats.js';
import { roundRatios } from '../lib/targets.js';
import { markdownTable, formatInt, formatMs, formatRatio, shorten } from '../lib/table.js';

export const SHORT_PATH = '/api/v1/items/123456';
export const LONG_PATH = '/a'.repeat(8192);
const MAX_COST_RATIO = 2;

export const description = 'CPU per request of a 16 KiB path vs a 20-byte path through Switchyard (Node, Deno)';
export const estimateSeconds = (settings) => {
  const { rounds, seconds, warmupSeconds } = shortened(settings);
  return 4 * rounds * (seconds + warmupSeconds) + 10;
};

// Shorter than the other scenarios' runs: two candidates, two paths, and a ratio within each round
// rather than an absolute figure, so the whole stays under about a minute. Fewer connections too:
// a build that is slow on long paths (150 ms each) then still answers some within a run, and the
// requests it is still working on when a run ends are done before the next run's warm-up is.
function shortened(settings) {
  return {
    ...settings,
    connections: Math.min(settings.connections, 10),
    rounds: Math.min(settings.rounds, 3),
    seconds: Math.min(settings.seconds, 2),
    warmupSeconds: Math.min(settings.warmupSeconds, 2),
  };
}

export async function run({ tmpDir, backends, settings, log }) {
  const measured = shortened(settings);
  const timeoutMs = settings.startTimeoutMs;
  const configPath = writeConfig(tmpDir, 'longpath.yaml', longPathConfig(backends.servers));
  if (SHORT_PATH.length !== 20) throw new Error('the short path must be 20 bytes');

  const definitions = [];
  for (const runtime of ['node', 'deno']) {
    // One process per runtime for both paths, so their ratio compares like with like.
    let started;
    const start = () => (started ??= startSwitchyard({ runtime, configPath, timeoutMs }));
    for (const [label, path] of [['20 B', SHORT_PATH], ['16 KiB', LONG_PATH]]) {
      definitions.push({ name: `switchyard-${runtime} ${label} path`, runtime, pathLabel: label, path, start });
    }
  }
  const lineup = await startLineup(definitions, { timeoutMs, log });

  const probe = (entry) => {
    const before = readGroupCpuSeconds(entry.pid);
    return (run) => {
      const after = readGroupCpuSeconds(entry.pid);
      const cpuUsPerRequest = before != null && after != null && run.requests > 0 ? ((after - before) * 1e6) / run.requests : NaN;
      return { cpuUsPerRequest, answeredNothing: run.requests === 0 };
    };
  };
  try {
    await measureInRounds(lineup, { ...measured, probe, log });
  } finally {
    await stopLineup(lineup);
  }

  const rows = lineup.map((entry) => {
    const runs = entry.runs ?? [];
    const short = lineup.find((other) => other.runtime === entry.runtime && other.path === SHORT_PATH);
    const costRatio = entry.path === LONG_PATH && short ? median(roundRatios([entry, short], entry.name, short.name, 'cpuUsPerRequest')) : NaN;
    return {
      name: entry.name,
      runtime: entry.runtime,
      pathBytes: entry.path.length,
      ...entry.summary,
      cpuUsPerRequest: median(runs.filter((run) => !run.failed).map((run) => run.cpuUsPerRequest)),
      costRatio: Number.isFinite(costRatio) ? costRatio : null,
      answeredNothing: runs.filter((run) => run.answeredNothing).length,
      note: entry.note ?? note(entry, runs, measured.seconds),
      runs,
    };
  });
  const targets = ['node', 'deno'].map((runtime) => {
    const row = rows.find((r) => r.runtime === runtime && r.pathBytes === LONG_PATH.length);
    const value = row?.costRatio ?? null;
    // A build that answers no long-path request within a run has missed the target, not skipped it.
    const met = value != null ? value <= MAX_COST_RATIO : row?.runs.length && row.answeredNothing === row.runs.length ? false : null;
    return { target: `${runtime}: a 16 KiB path costs at most ${MAX_COST_RATIO}x the CPU of a 20-byte one`, ratio: value, met };
  });

  const table = markdownTable(
    ['candidate', 'path bytes', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU us/request', 'CPU vs 20 B path', 'note'],
    rows.map((row) => [
      row.name, formatInt(row.pathBytes), formatInt(row.reqPerSec), formatMs(row.p50Ms), formatMs(row.p99Ms),
      row.runs.length ? formatInt(row.errors) : 'n/a', Number.isFinite(row.cpuUsPerRequest) ? row.cpuUsPerRequest.toFixed(1) : 'n/a',
      formatRatio(row.costRatio), shorten(row.note),
    ]),
  );
  const targetTable = markdownTable(
    ['target', 'median per-round ratio', 'met?'],
    targets.map((t) => [t.target, formatRatio(t.ratio), t.met == null ? 'not run' : t.met ? 'yes' : 'no']),
  );
  const footnote = `${measured.rounds} interleaved round(s) of ${measured.seconds} s after ${measured.warmupSeconds} s of warm-up, ${measured.connections} connections; `
    + 'CPU us/request: user + system time of the balancer\'s process group over the run (/proc, 10 ms ticks) divided by the requests it answered; median over rounds. '
    + `The 16 KiB path is ${LONG_PATH.length} bytes, /a repeated; limits raised to 64 KiB in the config.`;
  return { table: `${table}\n\n${footnote}\n\n${targetTable}`, result: { settings: measured, rows, targets } };
}

function note(entry, runs, seconds) {
  const failed = entry.summary?.failedRuns ?? 0;
  const silent = runs.filter((run) => run.answeredNothing).length;
  return [failed ? `${failed} run(s) failed` : '', silent ? `${silent} of ${runs.length} run(s) answered nothing within ${seconds} s` : ''].filter(Boolean).join('; ');
}
