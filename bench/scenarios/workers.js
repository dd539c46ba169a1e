// Scenario `workers`: `serve --workers 2` against one process (issue 16), on Node and Deno, next
// to nginx with 1 and 2 worker processes on the same backends. Then the cost of the primary,
// which accepts every connection under node:cluster's round-robin and hands it to a worker:
// its share of the CPU under connection churn (`Connection: close`, a new connection per
// request), the load that costs it most. That share is what bounds how many workers one primary
// can feed on a bigger machine (docs/performance.md, "Workers").
import { startSwitchyard } from '../candidates/switchyard.js';
import { startNginx } from '../candidates/nginx.js';
import { pathsConfig, writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { measureInRounds } from '../lib/rounds.js';
import { drive } from '../lib/load.js';
import { groupPids, statFields, ticksByPid } from '../lib/group.js';
import { ratio } from '../lib/stats.js';
import { markdownTable, formatInt, formatMs, formatRatio, shorten } from '../lib/table.js';

export const description = 'serve --workers 2 against 1 (Node, Deno; nginx 1 and 2 workers alike), and the primary\'s CPU share under connection churn';

export const estimateSeconds = ({ seconds, rounds, warmupSeconds }) => 6 * rounds * (seconds + warmupSeconds) + 2 * (seconds + warmupSeconds) + 20;

/** The primary of `--workers`: the process of the group whose parent is outside it (Node) or is `deno task` (Deno). */
function primaryPid(pgid) {
  const pids = groupPids(pgid);
  const parentOf = (pid) => Number(statFields(pid)?.[1]);
  // Workers are the children of the primary; the primary is the one whose children are the most.
  return pids.reduce((best, pid) => (pids.filter((other) => parentOf(other) === pid).length > pids.filter((other) => parentOf(other) === best).length ? pid : best), pids[0]);
}

/** Drives `entry` for `seconds` with `headers` and says what share of its group's CPU its primary used. */
async function primaryShare(entry, { seconds, warmupSeconds, connections }, headers) {
  const target = { url: entry.url + entry.path, headers, connections };
  await drive({ ...target, seconds: warmupSeconds });
  const primary = primaryPid(entry.pid);
  const before = ticksByPid(groupPids(entry.pid));
  const run = await drive({ ...target, seconds });
  const after = ticksByPid(groupPids(entry.pid));
  let total = 0;
  let own = 0;
  for (const [pid, ticks] of after) {
    const used = ticks - (before.get(pid) ?? 0);
    total += used;
    if (pid === primary) own = used;
  }
  return { reqPerSec: run.reqPerSec, errors: run.errors, primaryShare: total ? own / total : null, primaryCpuSeconds: own / 100, groupCpuSeconds: total / 100 };
}

export async function run({ tmpDir, backends, settings, log }) {
  const { servers } = backends;
  const timeoutMs = settings.startTimeoutMs;
  const configPath = writeConfig(tmpDir, 'workers.yaml', pathsConfig(servers));
  const switchyard = (runtime, args) => () => startSwitchyard({ runtime, configPath, timeoutMs, args });

  const lineup = await startLineup([
    { name: 'nginx 1 worker', start: () => startNginx({ servers, tmpDir, timeoutMs, workers: 1 }) },
    { name: 'nginx 2 workers', start: () => startNginx({ servers, tmpDir, timeoutMs, workers: 2 }) },
    { name: 'switchyard-node', start: switchyard('node', []) },
    { name: 'switchyard-node --workers 2', start: switchyard('node', ['--workers', '2']) },
    { name: 'switchyard-deno', start: switchyard('deno', []) },
    { name: 'switchyard-deno --workers 2', start: switchyard('deno', ['--workers', '2']) },
  ], { timeoutMs, log });

  const churn = [];
  try {
    await measureInRounds(lineup, { ...settings, log });
    for (const name of ['switchyard-node --workers 2', 'switchyard-deno --workers 2']) {
      const entry = lineup.find((each) => each.name === name && each.ok);
      if (!entry) continue;
      for (const [load, headers] of [['keep-alive', {}], ['Connection: close', { Connection: 'close' }]]) {
        const measured = await primaryShare(entry, settings, headers);
        log(`  ${name}, ${load}: ${Math.round(measured.reqPerSec)} req/s, primary ${measured.primaryShare === null ? 'n/a' : `${(measured.primaryShare * 100).toFixed(1)}%`} of the CPU`);
        churn.push({ name, load, ...measured });
      }
    }
  } finally {
    await stopLineup(lineup);
  }

  const summary = (name) => lineup.find((entry) => entry.name === name)?.summary;
  const against = { 'nginx 2 workers': 'nginx 1 worker', 'switchyard-node --workers 2': 'switchyard-node', 'switchyard-deno --workers 2': 'switchyard-deno' };
  const rows = lineup.map((entry) => {
    const s = entry.summary;
    const base = against[entry.name] && summary(against[entry.name]);
    return { name: entry.name, ...s, vsOne: s && base ? ratio(s.reqPerSec, base.reqPerSec) : null, note: entry.note ?? (s?.failedRuns ? `${s.failedRuns} run(s) failed` : '') };
  });
  const table = markdownTable(
    ['candidate', 'req/s', 'p50 ms', 'p99 ms', 'errors', '2 workers vs 1', 'note'],
    rows.map((row) => [row.name, formatInt(row.reqPerSec), formatMs(row.p50Ms), formatMs(row.p99Ms), Number.isFinite(row.errors) ? formatInt(row.errors) : 'n/a', formatRatio(row.vsOne), shorten(row.note)]),
  );
  const churnTable = markdownTable(
    ['candidate', 'load', 'req/s', 'errors', "primary's CPU share", 'primary CPU s', 'all CPU s'],
    churn.map((row) => [row.name, row.load, formatInt(row.reqPerSec), formatInt(row.errors), row.primaryShare === null ? 'n/a' : `${(row.primaryShare * 100).toFixed(1)}%`, row.primaryCpuSeconds.toFixed(2), row.groupCpuSeconds.toFixed(2)]),
  );
  const footnote = `${settings.rounds} interleaved round(s) of ${settings.seconds} s, ${settings.connections} connections; median per candidate. The CPU shares: one run of ${settings.seconds} s each, the primary's user+system time over its process group's (deno task included for Deno).`;
  return { table: `${table}\n\n${churnTable}\n\n${footnote}`, result: { settings, rows, churn } };
}
