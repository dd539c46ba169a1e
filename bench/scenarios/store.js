// Scenario `store`: what a rate limit kept in Redis (`store: { redis }`, issue 16) costs against
// the same limit kept in local buckets. Switchyard on Node and on Deno, each started twice with
// the same route and a limit high enough that every request passes it (so every request pays for
// the limiter, and wrk sees no 429): once without `store`, once with a redis-server started here
// on loopback (no persistence). The targets: at most 15% fewer requests per second with
// Redis, and at most one Redis round trip per limited request, none for health.
//
// Round trips are counted by Redis itself: `INFO commandstats` (through redis-cli) just before and
// just after each measured run; the script calls (EVALSHA, and EVAL once after a restart) over
// the requests wrk counted is the round trips per request (a few above 1: wrk does not count the
// requests in flight when it stops, whose calls Redis did count; at most one per connection). Every other command in that window is counted apart, bar
// the INFO itself and the script's own TIME, GET and SET (commandstats counts a script's calls
// too), and should be none: health (pub/sub) has nothing to say while nothing changes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { startSwitchyard } from '../candidates/switchyard.js';
import { startChild, stopChild, waitForOutput } from '../lib/children.js';
import { writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { measureInRounds } from '../lib/rounds.js';
import { readGroupCpuSeconds } from '../lib/cpu.js';
import { freePort } from '../lib/net.js';
import { median, sum } from '../lib/stats.js';
import { ratioTo } from '../lib/targets.js';
import { which } from '../lib/tools.js';
import { markdownTable, formatInt, formatMs, formatRatio, shorten } from '../lib/table.js';

const RUNTIMES = ['node', 'deno'];
const MODES = [
  { mode: 'local', label: 'local limit' },
  { mode: 'redis', label: 'redis limit' },
];
/** What the GCRA script itself calls (src/store/gcraScript.ts): in commandstats, not round trips. */
const SCRIPT_CALLS = ['time', 'get', 'set'];
/** At most this much below the local limit: req/s at least 0.85x. */
const MAX_COST = 0.15;

export const description = 'cost of a rate limit kept in Redis against local buckets, and Redis round trips per request, Switchyard on Node and Deno';
export const estimateSeconds = ({ seconds, rounds, warmupSeconds }) => RUNTIMES.length * MODES.length * rounds * (seconds + warmupSeconds) + 20;

export async function run({ tmpDir, backends, settings, log }) {
  const timeoutMs = settings.startTimeoutMs;
  const redis = await startRedis(timeoutMs);
  try {
    const configs = {
      local: writeConfig(tmpDir, 'store-local.yaml', limitedConfig(backends.servers)),
      redis: writeConfig(tmpDir, 'store-redis.yaml', `store: { redis: "redis://127.0.0.1:${redis.port}" }\n${limitedConfig(backends.servers)}`),
    };
    const definitions = RUNTIMES.flatMap((runtime) =>
      MODES.map(({ mode, label }) => ({
        name: `switchyard-${runtime} ${label}`,
        runtime,
        mode,
        start: () => startSwitchyard({ runtime, configPath: configs[mode], timeoutMs }),
      })),
    );
    const lineup = await startLineup(definitions, { timeoutMs, log });
    const probe = (entry) => {
      const cpuBefore = readGroupCpuSeconds(entry.pid);
      const before = redis.commandCalls();
      return (run) => {
        const after = redis.commandCalls();
        const cpuAfter = readGroupCpuSeconds(entry.pid);
        const delta = (names) => sum(names.map((name) => (after.get(name) ?? 0) - (before.get(name) ?? 0)));
        const scriptCalls = delta(['evalsha', 'eval']);
        // The INFO that took `before` is counted in `after`.
        const otherCalls = delta([...after.keys()].filter((name) => !['evalsha', 'eval', 'info', ...SCRIPT_CALLS].includes(name))) + delta(['info']) - 1;
        return {
          cpuUsPerRequest: cpuBefore != null && cpuAfter != null && run.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / run.requests : NaN,
          scriptCalls,
          otherCalls,
          scriptCallsPerRequest: run.requests > 0 ? scriptCalls / run.requests : NaN,
        };
      };
    };
    try {
      await measureInRounds(lineup, { ...settings, probe, log });
    } finally {
      await stopLineup(lineup);
    }
    const rows = lineup.map((entry) => {
      const runs = entry.runs ?? [];
      const good = runs.filter((run) => !run.failed);
      const local = entry.mode === 'local' ? undefined : lineup.find((other) => other.runtime === entry.runtime && other.mode === 'local');
      const req = ratioTo(entry, local, 'reqPerSec');
      const cpu = ratioTo(entry, local, 'cpuUsPerRequest');
      return {
        name: entry.name,
        runtime: entry.runtime,
        mode: entry.mode,
        ...entry.summary,
        cpuUsPerRequest: median(good.map((run) => run.cpuUsPerRequest)),
        scriptCalls: sum(good.map((run) => run.scriptCalls ?? 0)),
        inFlightAtEnd: good.length * settings.connections,
        scriptCallsPerRequest: entry.mode === 'redis' ? sum(good.map((run) => run.scriptCalls)) / sum(good.map((run) => run.requests)) : null,
        otherCalls: entry.mode === 'redis' ? sum(good.map((run) => run.otherCalls)) : null,
        reqRatio: req.ratio,
        reqRatioRange: req.range,
        cpuRatio: cpu.ratio,
        cpuRatioRange: cpu.range,
        note: entry.note ?? (entry.summary?.failedRuns ? `${entry.summary.failedRuns} run(s) failed` : ''),
        runs,
      };
    });
    const result = { settings, redis: redis.version, rows };
    result.targets = targetsOf(rows);
    return { table: report(result), result };
  } finally {
    await redis.stop();
  }
}

/** Every path to the backends, with a limit per client address that the load never reaches. */
function limitedConfig(servers) {
  return `paths:
  - path: /
    servers: [${servers.map((server) => JSON.stringify(server)).join(', ')}]
    rate_limit: { requests: 100000000, per: 1s, burst: 100000000 }
`;
}

/** Debian's redis-server on a free loopback port, in memory only; `commandCalls` reads INFO commandstats. */
async function startRedis(timeoutMs) {
  const server = which('redis-server');
  const cli = which('redis-cli');
  if (!server || !cli) throw new Error('redis-server and redis-cli are needed (apt-get install redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join('/tmp', 'switchyard-bench-redis-'));
  const record = startChild(server, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '', '--daemonize', 'no'], { name: 'redis-server' });
  await waitForOutput(record, /Ready to accept connections/, timeoutMs);
  const info = (section) => execFileSync(cli, ['-p', String(port), 'INFO', section], { encoding: 'utf8' });
  return {
    port,
    version: /redis_version:(\S+)/.exec(info('server'))?.[1] ?? 'unknown',
    commandCalls: () => new Map([...info('commandstats').matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)].map((match) => [match[1], Number(match[2])])),
    stop: () => stopChild(record),
  };
}

/**
 * The targets: the Redis-backed limit at most 15% below the local one (req/s, median of the
 * per-round ratios), and at most one Redis round trip per limited request with no other command.
 */
function targetsOf(rows) {
  return rows
    .filter((row) => row.mode === 'redis')
    .flatMap((row) => [
      { target: `${row.runtime}: redis limit at most ${MAX_COST * 100}% below local`, value: formatRatio(row.reqRatio), range: row.reqRatioRange, met: row.reqRatio == null ? null : row.reqRatio >= 1 - MAX_COST },
      {
        target: `${row.runtime}: at most one Redis round trip per limited request, none for health`,
        value: `${Number.isFinite(row.scriptCallsPerRequest) ? row.scriptCallsPerRequest.toFixed(3) : 'n/a'} script calls, ${row.otherCalls ?? 'n/a'} other commands`,
        range: null,
        met: row.scriptCallsPerRequest == null || !Number.isFinite(row.scriptCallsPerRequest) ? null : row.scriptCalls <= row.requests + row.inFlightAtEnd && row.otherCalls === 0,
      },
    ]);
}

/** The scenario's tables from its result, as printed at the end of a run. */
export function report({ settings, redis, rows }) {
  const range = (r) => (r ? `${formatRatio(r[0])}-${formatRatio(r[1])}` : '');
  const table = markdownTable(
    ['candidate', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU us/request', 'req/s vs local', 'range', 'CPU vs local', 'range', 'Redis script calls/request', 'other Redis commands', 'note'],
    rows.map((row) => [
      row.name, formatInt(row.reqPerSec), formatMs(row.p50Ms), formatMs(row.p99Ms), row.runs.length ? formatInt(row.errors) : 'n/a',
      Number.isFinite(row.cpuUsPerRequest) ? row.cpuUsPerRequest.toFixed(1) : 'n/a',
      row.mode === 'local' ? '1.00x' : formatRatio(row.reqRatio), range(row.reqRatioRange),
      row.mode === 'local' ? '1.00x' : formatRatio(row.cpuRatio), range(row.cpuRatioRange),
      row.mode === 'redis' && Number.isFinite(row.scriptCallsPerRequest) ? row.scriptCallsPerRequest.toFixed(3) : '', row.otherCalls ?? '', shorten(row.note),
    ]),
  );
  const footnote = `${settings.rounds} interleaved round(s) of ${settings.seconds} s after ${settings.warmupSeconds} s of warm-up, ${settings.connections} connections, `
    + `${rows.find((row) => row.runs[0]?.tool)?.runs[0].tool ?? 'no load generator run'}; redis-server ${redis} on loopback, on the same two cores. `
    + 'Ratios are to the local limit on the same runtime, per round, median over rounds. Script calls and other commands: Redis\'s INFO commandstats around each measured run.';
  const targetTable = markdownTable(
    ['target', 'measured', 'range', 'met?'],
    targetsOf(rows).map((t) => [t.target, t.value, range(t.range), t.met == null ? 'not run' : t.met ? 'yes' : 'no']),
  );
  return `${table}\n\n${footnote}\n\n${targetTable}`;
}
