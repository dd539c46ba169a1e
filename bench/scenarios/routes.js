// Scenario `routes`: does the route table scale? Switchyard on Node with 2 path routes, with
// 10,000 (BENCH_ROUTES), and with 10,000 of which half carry `match` conditions (a method and a
// header), requesting the last route each time so a linear scan would pay in full.
// Also reports start-up time (parse + validate + compile of the big config) and the health-check
// traffic the backends saw, since 10,000 routes naming the same two servers should not mean
// 20,000 probes.
import { startSwitchyard } from '../candidates/switchyard.js';
import { manyMatchRoutesConfig, manyRoutesConfig, lastRoutePath, matchedRouteRequest, writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { measureInRounds } from '../lib/rounds.js';
import { median } from '../lib/stats.js';
import { roundRatios } from '../lib/targets.js';
import { markdownTable, formatInt, formatMs, formatRatio, shorten } from '../lib/table.js';

export const description = 'Switchyard on Node with 2 vs 10,000 path routes (plain, and half with match conditions), last route requested';
export const estimateSeconds = ({ seconds, rounds, warmupSeconds }) => 3 * rounds * (seconds + warmupSeconds) + 15;

export async function run({ tmpDir, backends, settings, log }) {
  const many = Math.round(Number(process.env.BENCH_ROUTES) || 10_000);
  const counts = [2, many];
  const timeoutMs = settings.startTimeoutMs;

  const definitions = counts.map((count) => {
    const configPath = writeConfig(tmpDir, `routes-${count}.yaml`, manyRoutesConfig(backends.servers, count));
    return {
      name: `switchyard-node ${formatInt(count)} routes`,
      path: lastRoutePath(count),
      count,
      start: () => startSwitchyard({ runtime: 'node', configPath, timeoutMs }),
    };
  });
  const matchConfigPath = writeConfig(tmpDir, `routes-${many}-match.yaml`, manyMatchRoutesConfig(backends.servers, many));
  definitions.push({
    name: `switchyard-node ${formatInt(many)} routes, half with match`,
    ...matchedRouteRequest(many),
    count: many,
    start: () => startSwitchyard({ runtime: 'node', configPath: matchConfigPath, timeoutMs }),
  });

  const healthBefore = await backends.stats();
  const clockBefore = Date.now();
  const lineup = await startLineup(definitions, { timeoutMs, log });

  try {
    await measureInRounds(lineup, { ...settings, log });
  } finally {
    await stopLineup(lineup);
  }
  const healthAfter = await backends.stats();
  const probesPerSecond = (healthAfter.healthchecks - healthBefore.healthchecks) / ((Date.now() - clockBefore) / 1000);

  const base = lineup.find((entry) => entry.count === 2);
  const rows = lineup.map((entry) => ({
    name: entry.name,
    routes: entry.count,
    path: entry.path,
    ...entry.summary,
    // Per round, then the median (lib/targets.js says why).
    ratioToTwoRoutes: entry.summary && base?.summary ? median(roundRatios([entry, base], entry.name, base.name, 'reqPerSec')) || null : null,
    note: entry.note ?? '',
    runs: entry.runs ?? [],
  }));
  const table = markdownTable(
    ['candidate', 'path', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs 2 routes (median per round)', 'note'],
    rows.map((row) => [row.name, row.path, formatInt(row.reqPerSec), formatMs(row.p50Ms), formatMs(row.p99Ms), row.runs.length ? formatInt(row.errors) : 'n/a', formatRatio(row.ratioToTwoRoutes), shorten(row.note)]),
  );
  // Spawn to first 2xx (lib/lineup.js): includes up to 100 ms of polling, so read it to 0.1 s.
  const startup = lineup.filter((entry) => entry.ok).map((entry) => `${entry.name}: ${formatInt(entry.readyMs)} ms`).join(', ');
  const footnote = `start-up to first 2xx: ${startup || 'n/a'}. Health-check requests seen by the backends: ${probesPerSecond.toFixed(1)}/s over the scenario (both configs running).`;
  // Keyed by name: the two 10,000-route configs share a count.
  return { table: `${table}\n\n${footnote}`, result: { settings, rows, startupMs: Object.fromEntries(lineup.map((e) => [e.name, e.readyMs ?? null])), healthChecksPerSecond: probesPerSecond } };
}
