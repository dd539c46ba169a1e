#!/usr/bin/env node
// How evenly does each way of sharing one listening port spread requests over two processes?
// Issue 16 point 1 asks for `serve --workers` to use "cluster, or reusePort where the runtime has
// it: measure which spreads load better". The modes, each with two serving processes:
//
//   node cluster RR     node:cluster round-robin on Node: the primary accepts every connection
//                       and hands it over IPC to the next worker that is free
//   node cluster, workers accept
//                       node:cluster with NODE_CLUSTER_SCHED_POLICY=none: every worker accepts on
//                       the one shared socket (the escape hatch docs/operations.md names for churn)
//   deno cluster RR     round-robin on Deno's node:cluster (needs --allow-run)
//   deno reusePort      two separate Deno processes, node:http listen({ reusePort: true }): one
//                       accept queue per process, the kernel hashes each connection's 4-tuple
//                       (Node 20 has no reusePort: its second bind fails with EADDRINUSE)
//
// Each is driven by wrk three times per round: 8 keep-alive connections (few connections is where
// per-connection hashing can be lumpy), then `Connection: close` (a new connection per request).
// The server (servers/pid-server.js) counts connections and requests per pid; the report gives the
// busiest process's share of each (50% is an even spread), requests/s, and for round-robin the
// primary's share of the CPU the servers used. Connections show what the mechanism did; requests
// on kept-alive connections also show how much CPU each process got on a busy machine.
// The third run is a drain: under `Connection: close` load, one request to /drain makes the process
// that gets it busy for a second and then close its listening socket (a worker that stalls, then
// drains). Under reusePort the kernel keeps queueing new connections on the busy process's own
// socket, and closing a socket resets the connections still queued on it (LWN 542629;
// net.ipv4.tcp_migrate_req, Linux 5.14, can move them instead, off by default); under round-robin
// the primary holds them and hands them to a worker that is free. The report gives wrk's errors
// (connections reset) for that run.
// Not Switchyard: the question is the mechanism, not the balancer.
//
// node bench/spread.js      Environment: BENCH_DURATION (s per run, default 3), BENCH_ROUNDS (3),
//                           BENCH_WARMUP (s of unmeasured load after each start, 1),
//                           BENCH_CONNECTIONS (8), BENCH_START_TIMEOUT (s, 10). Needs wrk.
import os from 'node:os';
import { join } from 'node:path';
import { installCleanup, lastLines, startChild, stopChild } from './lib/children.js';
import { drive } from './lib/load.js';
import { freePort, get } from './lib/net.js';
import { groupPids, ticksByPid } from './lib/group.js';
import { denoBinary, versionOf, which } from './lib/tools.js';
import { serversDir } from './lib/paths.js';
import { runSettings } from './lib/settings.js';
import { median } from './lib/stats.js';
import { markdownTable, formatInt } from './lib/table.js';

const settings = runSettings({ seconds: 3, rounds: 3, warmupSeconds: 1, connections: 8 });
const WORKERS = 2;
const SERVER = join(serversDir, 'pid-server.js');
const CLOSE = { Connection: 'close' };
const LOADS = [['keep-alive', {}], ['Connection: close', CLOSE]];

installCleanup();
if (!which('wrk')) {
  console.error('bench/spread.js needs wrk (apt-get install wrk): autocannon in the harness would share the event loop it measures.');
  process.exit(2);
}
const deno = denoBinary();
const denoRun = ['run', '--allow-net', '--allow-env', '--allow-read'];

// Each mode's `start` returns the children the harness started: one for cluster, whose primary
// forks the workers (and under round-robin pays for the accepts); one per process for reusePort.
// `policy` is the cluster scheduling policy the primary must report, so that a runtime ignoring
// NODE_CLUSTER_SCHED_POLICY cannot pass unseen.
const cluster = (name, command, args, policy) => ({
  name,
  start: (port) => [startChild(command, [...args, SERVER, 'cluster', String(port), String(WORKERS)], { name, env: { ...process.env, NODE_CLUSTER_SCHED_POLICY: policy } })],
  policy,
});
const MODES = [
  cluster('node cluster RR', process.execPath, [], 'rr'),
  cluster('node cluster, workers accept', process.execPath, [], 'none'),
  { ...cluster('deno cluster RR', deno, [...denoRun, '--allow-run'], 'rr'), onDeno: true },
  { name: 'deno reusePort', start: (port) => Array.from({ length: WORKERS }, (_, i) => startChild(deno, [...denoRun, SERVER, 'reuseport', String(port)], { name: `deno reusePort ${i + 1}` })), onDeno: true },
];

/** Every line of the records' stdout matching `pattern` (global), as match arrays. */
const linesOf = (records, pattern) => records.flatMap((record) => [...record.stdout.matchAll(pattern)]);

/** Waits until the records have printed `count` lines matching `pattern`; rejects on an exit or after `timeoutMs`. */
async function waitForLines(records, pattern, count, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = linesOf(records, pattern);
    if (lines.length >= count) return lines;
    const gone = records.find((record) => record.exited);
    if (gone) throw new Error(`${gone.name} exited (${gone.exitCode}): ${lastLines(gone)}`);
    if (Date.now() > deadline) throw new Error(`${count} lines like ${pattern} not seen within ${timeoutMs / 1000} s: ${records.map(lastLines).join(' / ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Asks every serving process for its count since the last ask (and to start again from zero). */
async function collectCounts(server) {
  server.asked += 1;
  for (const pid of server.pids) process.kill(pid, 'SIGUSR2');
  const lines = await waitForLines(server.records, new RegExp(`^served ${server.asked} (\\d+) (\\d+) (\\d+)$`, 'gm'), server.pids.length, 5000);
  return lines.map(([, , requests, connections]) => ({ requests: Number(requests), connections: Number(connections) }));
}

async function startMode(mode) {
  const port = await freePort();
  const records = mode.start(port);
  const listening = await waitForLines(records, /^listening (\d+)$/gm, WORKERS, settings.startTimeoutMs);
  if (mode.policy) {
    const [[, policy]] = linesOf(records, /^policy (\w+)$/gm);
    if (policy !== mode.policy) throw new Error(`the cluster ran with scheduling policy ${policy}, not ${mode.policy}`);
  }
  return { records, port, pids: listening.map(([, pid]) => Number(pid)), primary: mode.policy === 'rr' ? records[0].child.pid : null, asked: 0 };
}

/** One measured wrk run against a started mode: spread, requests/s, and the primary's CPU share. */
async function measure(server, headers) {
  const pids = server.records.flatMap((record) => groupPids(record.child.pid));
  const before = ticksByPid(pids);
  const run = await drive({ url: `http://127.0.0.1:${server.port}/`, headers, seconds: settings.seconds, connections: settings.connections });
  const after = ticksByPid(pids);
  const counts = await collectCounts(server);
  let total = 0;
  for (const [pid, ticks] of after) total += ticks - (before.get(pid) ?? 0);
  const own = server.primary ? (after.get(server.primary) ?? 0) - (before.get(server.primary) ?? 0) : null;
  const busiest = (values) => Math.max(...values) / values.reduce((sum, n) => sum + n, 0);
  return {
    reqPerSec: run.reqPerSec,
    errors: run.errors,
    requests: counts.map((count) => count.requests),
    connections: counts.map((count) => count.connections),
    busiestRequests: busiest(counts.map((count) => count.requests)),
    busiestConnections: busiest(counts.map((count) => count.connections)),
    primaryShare: own !== null && total ? own / total : null,
  };
}

/** A `Connection: close` run during which one process stalls and then closes its listening socket. */
async function measureDrain(server) {
  const url = `http://127.0.0.1:${server.port}/`;
  const load = drive({ url, headers: CLOSE, seconds: settings.seconds, connections: settings.connections });
  // A third into the run: with runs of 3 s or more, the 1 s stall and what follows are inside it.
  await new Promise((resolve) => setTimeout(resolve, (settings.seconds * 1000) / 3));
  await get(`${url}drain`, { timeoutMs: 10_000 });
  return load;
}

const results = new Map(); // `${mode} / ${load}` -> runs
const drains = new Map(); // mode -> runs
const notes = [];
const log = (line) => console.error(line);
log(`spread: ${WORKERS} processes, wrk -t1 -c${settings.connections}, ${settings.rounds} round(s) of ${settings.seconds} s per load, ${settings.warmupSeconds} s warm-up after each start`);
log(`${os.cpus().length} CPUs, load average ${os.loadavg().map((n) => n.toFixed(2)).join(' ')}; node ${process.version}; ${deno ? versionOf(deno, ['--version']) : 'no deno'}`);

for (let round = 1; round <= settings.rounds; round += 1) {
  // Rotated, so that no mode always runs first (or right after the same neighbour) in a round.
  const order = MODES.map((_, i) => MODES[(i + round - 1) % MODES.length]);
  for (const mode of order) {
    if (mode.onDeno && !deno) {
      if (round === 1) notes.push(`${mode.name}: skipped, no deno binary`);
      continue;
    }
    let server;
    try {
      server = await startMode(mode);
      await drive({ url: `http://127.0.0.1:${server.port}/`, seconds: settings.warmupSeconds, connections: settings.connections });
      await collectCounts(server);
      for (const [load, headers] of LOADS) {
        const run = await measure(server, headers);
        const key = `${mode.name} / ${load}`;
        results.set(key, [...(results.get(key) ?? []), run]);
        const primary = run.primaryShare === null ? '' : `, primary ${(run.primaryShare * 100).toFixed(1)}% of the CPU`;
        log(`  round ${round}/${settings.rounds} ${key.padEnd(48)} ${formatInt(run.reqPerSec).padStart(7)} req/s  connections ${run.connections.join('/')}  requests ${run.requests.join('/')}${primary}  errors ${run.errors}`);
      }
      const drained = await measureDrain(server);
      drains.set(mode.name, [...(drains.get(mode.name) ?? []), drained]);
      log(`  round ${round}/${settings.rounds} ${`${mode.name} / drain`.padEnd(48)} ${formatInt(drained.reqPerSec).padStart(7)} req/s  errors ${drained.errors}`);
    } catch (error) {
      log(`  round ${round}/${settings.rounds} ${mode.name} failed: ${error.message}`);
      notes.push(`${mode.name}, round ${round}: ${error.message}`);
    } finally {
      for (const record of server?.records ?? []) await stopChild(record);
    }
  }
}

const percent = (n) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : 'n/a');
const rows = [...results].map(([key, runs]) => {
  const [mode, load] = key.split(' / ');
  const primaries = runs.map((run) => run.primaryShare).filter((n) => n !== null);
  return [
    mode,
    load,
    percent(median(runs.map((run) => run.busiestConnections))),
    percent(median(runs.map((run) => run.busiestRequests))),
    runs.map((run) => `${(run.busiestConnections * 100).toFixed(0)}/${(run.busiestRequests * 100).toFixed(0)}`).join(', '),
    formatInt(median(runs.map((run) => run.reqPerSec))),
    primaries.length ? percent(median(primaries)) : '-',
    formatInt(runs.reduce((sum, run) => sum + run.errors, 0)),
  ];
});
console.log(markdownTable(['mode', 'load', 'busiest: connections', 'busiest: requests', 'each round, conn/req %', 'req/s', "primary's CPU", 'errors'], rows));
// No latency column: under reusePort the requests that waited for the busy process fail instead
// of finishing late, so a percentile would flatter the mode that dropped them.
console.log(`\n${markdownTable(['mode', 'drain: errors, each round', 'req/s (median)'], [...drains].map(([mode, runs]) => [
  mode,
  runs.map((run) => run.errors).join(', '),
  formatInt(median(runs.map((run) => run.reqPerSec))),
]))}`);
console.log(`\n${WORKERS} processes; wrk -t1 -c${settings.connections}, ${settings.rounds} round(s) of ${settings.seconds} s per load (modes rotated each round); the busiest process's share of the connections and of the requests (medians; 50% = an even spread). Primary's CPU (round-robin): its user+system time over that of all the servers' processes. Drain: a ${settings.seconds} s Connection: close run in which, a third of the way in, one process is busy for 1 s and then closes its listening socket. Load average at the end: ${os.loadavg().map((n) => n.toFixed(2)).join(' ')}.`);
for (const note of notes) console.log(`- ${note}`);
