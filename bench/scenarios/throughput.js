// Scenario `throughput`: small requests through every balancer we can run, side by side.
// Same backends, same load generator, same connection count; nginx is the yardstick.
import { startSwitchyard } from '../candidates/switchyard.js';
import { startNginx } from '../candidates/nginx.js';
import { startHaproxy } from '../candidates/haproxy.js';
import { startHttpProxy } from '../candidates/http-proxy.js';
import { pathsConfig, tutorialConfig, TUTORIAL_HOST, writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { measureInRounds } from '../lib/rounds.js';
import { ratio } from '../lib/stats.js';
import { markdownTable, formatInt, formatMs, formatRatio, shorten } from '../lib/table.js';
import { barChartSvg } from '../lib/chart.js';
import { writeResultFile } from '../lib/results.js';
import { checkTargets, targetsTable } from '../lib/targets.js';

export const description = 'req/s and latency of Switchyard (Node, Deno) next to nginx, HAProxy, node-http-proxy and the bare backend';

/** Rough wall time, for deciding what the default run includes. */
export const estimateSeconds = ({ seconds, rounds, warmupSeconds }) => 7 * rounds * (seconds + warmupSeconds) + 15;

export async function run({ tmpDir, backends, settings, log }) {
  const { servers } = backends;
  const timeoutMs = settings.startTimeoutMs;
  const plainConfig = writeConfig(tmpDir, 'throughput.yaml', pathsConfig(servers));
  const tutorial = writeConfig(tmpDir, 'throughput-tutorial.yaml', tutorialConfig(servers));

  const lineup = await startLineup([
    // The bare backend: the ceiling any balancer in front of it can reach on this machine.
    { name: 'direct (no balancer)', start: async () => ({ url: `http://${servers[0]}` }) },
    { name: 'nginx', start: () => startNginx({ servers, tmpDir, timeoutMs }) },
    { name: 'haproxy', start: () => startHaproxy({ servers, tmpDir, timeoutMs }) },
    { name: 'node-http-proxy', start: () => startHttpProxy({ servers, timeoutMs }) },
    { name: 'switchyard-node', start: () => startSwitchyard({ runtime: 'node', configPath: plainConfig, timeoutMs }) },
    {
      name: 'switchyard-node-tutorial',
      headers: { Host: TUTORIAL_HOST },
      start: () => startSwitchyard({ runtime: 'node', configPath: tutorial, timeoutMs }),
    },
    { name: 'switchyard-deno', start: () => startSwitchyard({ runtime: 'deno', configPath: plainConfig, timeoutMs }) },
  ], { timeoutMs, log });

  try {
    await measureInRounds(lineup, { ...settings, log });
  } finally {
    await stopLineup(lineup);
  }

  const nginx = lineup.find((entry) => entry.name === 'nginx')?.summary;
  const rows = lineup.map((entry) => {
    const s = entry.summary;
    const reqRatio = s && nginx ? ratio(s.reqPerSec, nginx.reqPerSec) : null;
    const p99Ratio = s && nginx ? ratio(s.p99Ms, nginx.p99Ms) : null;
    const note = entry.note ?? (s?.failedRuns ? `${s.failedRuns} run(s) failed` : entry.headers.Host ? `Host: ${entry.headers.Host}` : '');
    return { name: entry.name, ...s, reqRatio, p99Ratio, note, runs: entry.runs ?? [] };
  });

  const table = markdownTable(
    ['candidate', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'req/s vs nginx', 'p99 vs nginx', 'note'],
    rows.map((row) => [row.name, formatInt(row.reqPerSec), formatMs(row.p50Ms), formatMs(row.p99Ms), row.runs.length ? formatInt(row.errors) : 'n/a', formatRatio(row.reqRatio), formatRatio(row.p99Ratio), shorten(row.note)]),
  );
  const footnote = `${settings.rounds} interleaved round(s) of ${settings.seconds} s, ${settings.connections} connections, ${rows.find((row) => row.runs[0]?.tool)?.runs[0].tool ?? 'no load generator run'}; median per candidate; errors = socket errors + non-2xx/3xx, summed over rounds.`
    + (nginx ? '' : ' nginx did not run, so no ratios.');

  const svg = barChartSvg({
    title: 'Switchyard benchmark: requests per second (higher is better)',
    subtitle: `${settings.connections} connections, ${settings.seconds} s x ${settings.rounds} rounds, median; ratio to nginx (1 worker)`,
    bars: rows.map((row) => ({
      label: row.name,
      value: Number.isFinite(row.reqPerSec) ? row.reqPerSec : null,
      text: Number.isFinite(row.reqPerSec) ? `${formatInt(row.reqPerSec)} req/s${row.reqRatio != null ? ` (${formatRatio(row.reqRatio)} nginx)` : ''}` : shorten((row.note || 'not run').replace(/exited \(\w+\) before it was ready: /, ''), 60),
      highlight: row.name.startsWith('switchyard'),
    })),
  });
  writeResultFile('latest.svg', svg);

  const targets = checkTargets(rows);
  return { table: `${table}\n\n${footnote}\n\n${targetsTable(targets)}`, result: { settings, rows, targets } };
}
