// Scenario `oplog`: what the access log and the metrics cost against plain routing. Switchyard on
// Node and on Deno, each started three ways with the same config and backends: `--access-log off`
// (no admin listener), `--access-log json`, and `--access-log json --admin 127.0.0.1:PORT` (the
// metrics kept for every request and served). The target: each at most 10% below `off`.
//
// Standard output, where the log goes, is /dev/null through a file descriptor the child holds, as
// a log shipper's pipe would be but with no reader on the same two cores (the other scenarios read
// the balancers' stdout in the harness). Every write is still made: `bytes written/request`, from
// /proc (lib/io.js), shows the line's bytes on top of the sockets'. Cost is measured two ways per
// run: req/s under wrk at full speed, and the balancer's own CPU time per request (lib/cpu.js),
// which the load generator and the backends do not blur. Both are ratios to `off` on the same
// runtime taken within each round, then the median over rounds. The three run back to back in a
// round, and the order rotates from round to round, so that none always follows an idle pause.
import { startSwitchyard } from '../candidates/switchyard.js';
import { pathsConfig, writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { measureInRounds } from '../lib/rounds.js';
import { readGroupCpuSeconds } from '../lib/cpu.js';
import { readGroupWrittenBytes } from '../lib/io.js';
import { get } from '../lib/net.js';
import { median, sum } from '../lib/stats.js';
import { ratioTo } from '../lib/targets.js';
import { markdownTable, formatInt, formatMs, formatRatio, shorten } from '../lib/table.js';

const MODES = [
  { mode: 'off', label: 'log off', accessLog: 'off', admin: false },
  { mode: 'json', label: 'log json', accessLog: 'json', admin: false },
  { mode: 'json+metrics', label: 'log json + metrics', accessLog: 'json', admin: true },
];
const RUNTIMES = ['node', 'deno'];
/** At most this much below `off`: req/s at least 0.90x. */
const MAX_COST = 0.1;

export const description = 'cost of the access log (json) and of the metrics against plain routing, Switchyard on Node and Deno';
export const estimateSeconds = ({ seconds, rounds, warmupSeconds }) => RUNTIMES.length * MODES.length * rounds * (seconds + warmupSeconds) + 20;

export async function run({ tmpDir, backends, settings, log }) {
  const timeoutMs = settings.startTimeoutMs;
  const configPath = writeConfig(tmpDir, 'oplog.yaml', pathsConfig(backends.servers));
  const adminUrls = new Map();
  const definitions = RUNTIMES.flatMap((runtime) =>
    MODES.map(({ mode, label, accessLog, admin }) => {
      const name = `switchyard-${runtime} ${label}`;
      return {
        name,
        runtime,
        mode,
        start: async () => {
          const running = await startSwitchyard({ runtime, configPath, timeoutMs, accessLog, admin, stdoutToDevNull: true });
          if (running.adminUrl) adminUrls.set(name, running.adminUrl);
          return running;
        },
      };
    }),
  );
  const lineup = await startLineup(definitions, { timeoutMs, log });

  const probe = (entry) => {
    const cpuBefore = readGroupCpuSeconds(entry.pid);
    const writtenBefore = readGroupWrittenBytes(entry.pid);
    return (run) => {
      const cpuAfter = readGroupCpuSeconds(entry.pid);
      const writtenAfter = readGroupWrittenBytes(entry.pid);
      const per = (before, after, scale) => (before != null && after != null && run.requests > 0 ? ((after - before) * scale) / run.requests : NaN);
      return { cpuUsPerRequest: per(cpuBefore, cpuAfter, 1e6), writtenBytesPerRequest: per(writtenBefore, writtenAfter, 1) };
    };
  };
  // Each runtime's three back to back, starting one further along each round.
  const orderFor = (active, round) =>
    RUNTIMES.flatMap((runtime) => {
      const group = active.filter((entry) => entry.runtime === runtime);
      const shift = (round - 1) % Math.max(1, group.length);
      return [...group.slice(shift), ...group.slice(0, shift)];
    });

  let counted;
  try {
    await measureInRounds(lineup, { ...settings, probe, orderFor, log });
    // That the metrics were kept: what they counted, before the processes go.
    counted = await countedByMetrics(lineup, adminUrls);
  } finally {
    await stopLineup(lineup);
  }

  const rows = lineup.map((entry) => {
    const runs = entry.runs ?? [];
    const good = runs.filter((run) => !run.failed);
    const off = entry.mode === 'off' ? undefined : lineup.find((other) => other.runtime === entry.runtime && other.mode === 'off');
    const req = ratioTo(entry, off, 'reqPerSec');
    const cpu = ratioTo(entry, off, 'cpuUsPerRequest');
    return {
      name: entry.name,
      runtime: entry.runtime,
      mode: entry.mode,
      ...entry.summary,
      cpuUsPerRequest: median(good.map((run) => run.cpuUsPerRequest)),
      writtenBytesPerRequest: median(good.map((run) => run.writtenBytesPerRequest)),
      reqRatio: req.ratio,
      reqRatioRange: req.range,
      cpuRatio: cpu.ratio,
      cpuRatioRange: cpu.range,
      metricsCounted: counted?.get(entry.name) ?? null,
      note: entry.note ?? (entry.summary?.failedRuns ? `${entry.summary.failedRuns} run(s) failed` : ''),
      runs,
    };
  });
  const result = { settings, rows };
  result.targets = targetsOf(rows);
  return { table: report(result), result };
}

/**
 * The targets: each mode at most 10% below `off`. On a machine this shared, req/s at full speed
 * follows the scheduler as much as the code (per-round ratios range over 2x), so a target is met
 * only when both measures agree: req/s at least 0.90x and CPU per request at most 1.11x (what 10%
 * fewer requests per second means for a balancer that is bound by its CPU).
 */
function targetsOf(rows) {
  return rows
    .filter((row) => row.mode !== 'off')
    .map((row) => ({
      target: `${row.runtime}: ${row.mode} at most ${MAX_COST * 100}% below log off`,
      ratio: row.reqRatio,
      range: row.reqRatioRange,
      cpuRatio: row.cpuRatio,
      cpuRange: row.cpuRatioRange,
      met: row.reqRatio == null || row.cpuRatio == null ? null : row.reqRatio >= 1 - MAX_COST && row.cpuRatio <= 1 / (1 - MAX_COST),
    }));
}

/**
 * The scenario's tables from its result, as printed at the end of a run; exported so that a saved
 * result can be shown again: `node -e "import('./bench/scenarios/oplog.js').then((m) =>
 * console.log(m.report(require('./bench/results/latest.json').scenarios.oplog)))"`.
 */
export function report({ settings, rows }) {
  const targets = targetsOf(rows);
  const range = (r) => (r ? `${formatRatio(r[0])}-${formatRatio(r[1])}` : 'n/a');
  const table = markdownTable(
    ['candidate', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU us/request', 'bytes written/request', 'req/s vs off', 'range', 'CPU vs off', 'range', 'note'],
    rows.map((row) => [
      row.name, formatInt(row.reqPerSec), formatMs(row.p50Ms), formatMs(row.p99Ms), row.runs.length ? formatInt(row.errors) : 'n/a',
      Number.isFinite(row.cpuUsPerRequest) ? row.cpuUsPerRequest.toFixed(1) : 'n/a', formatInt(row.writtenBytesPerRequest),
      row.mode === 'off' ? '1.00x' : formatRatio(row.reqRatio), range(row.reqRatioRange),
      row.mode === 'off' ? '1.00x' : formatRatio(row.cpuRatio), range(row.cpuRatioRange), shorten(row.note),
    ]),
  );
  const targetTable = markdownTable(
    ['target', 'req/s vs off (median per round)', 'range', 'CPU per request vs off', 'range', 'met?'],
    targets.map((t) => [t.target, formatRatio(t.ratio), range(t.range), formatRatio(t.cpuRatio), range(t.cpuRange), t.met == null ? 'not run' : t.met ? 'yes' : 'no']),
  );
  const metricsNote = rows
    .filter((row) => row.mode === 'json+metrics')
    .map((row) => `${row.name}: switchyard_requests_total ${formatInt(row.metricsCounted)} after ${formatInt(row.requests)} measured requests (plus the warm-ups)`)
    .join('; ');
  const footnote = `${settings.rounds} interleaved round(s) of ${settings.seconds} s after ${settings.warmupSeconds} s of warm-up, ${settings.connections} connections, `
    + `${rows.find((row) => row.runs[0]?.tool)?.runs[0].tool ?? 'no load generator run'}; stdout to /dev/null. Ratios are to log off on the same runtime, per round, median over rounds. `
    + 'CPU us/request: user + system time of the balancer\'s process group over the run (/proc, 10 ms ticks) over the requests it answered; '
    + 'bytes written/request: bytes passed to write calls (/proc wchar: the sockets\' and the log\'s; Deno sends part of its socket traffic otherwise, so compare within a runtime). '
    + (metricsNote ? `Metrics kept: ${metricsNote}.` : '');
  return `${table}\n\n${footnote}\n\n${targetTable}`;
}

/** The sum of `switchyard_requests_total` on each admin listener, by candidate name. */
async function countedByMetrics(lineup, adminUrls) {
  const counted = new Map();
  for (const entry of lineup) {
    const adminUrl = adminUrls.get(entry.name);
    if (!entry.ok || !adminUrl) continue;
    try {
      const { status, body } = await get(`${adminUrl}/metrics`, { timeoutMs: 5000, maxBytes: Infinity });
      if (status !== 200) continue;
      const samples = body.split('\n').filter((line) => line.startsWith('switchyard_requests_total{'));
      counted.set(entry.name, sum(samples.map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)))));
    } catch {
      // No count: the table says n/a.
    }
  }
  return counted;
}
