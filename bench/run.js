#!/usr/bin/env node
// Switchyard's benchmark harness. `npm run bench` or `node bench/run.js [scenario...]`.
//
//   throughput  Switchyard on Node and Deno next to nginx, HAProxy, node-http-proxy, the backend
//   routes      Switchyard with 2 vs 10,000 path routes
//   stream      1 GiB down and 1 GiB up through Switchyard on Node, watching its memory
//   longpath    CPU per request of a 16 KiB path against a 20-byte one, Switchyard on Node and Deno
//   memory      RSS per idle keep-alive connection and per held upload: Switchyard, nginx
//   oplog       the access log (json) and metrics against plain routing, Switchyard on Node and Deno
//   https       HTTPS keep-alive, h2 and TLS handshakes/s, Switchyard (Node, Deno) against nginx
//   workers     serve --workers 2 against 1 (Node, Deno, nginx alike), the primary's CPU share under churn
//   store       a rate limit kept in Redis against local buckets, and Redis round trips per request
//   all         every scenario
//
// Environment: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (5), BENCH_WARMUP (4),
// BENCH_CONNECTIONS (50), BENCH_START_TIMEOUT (s, 10), BENCH_STREAM_BYTES (1 GiB),
// BENCH_TOOL=autocannon (ignore wrk), BENCH_CANDIDATES=name,name (run only those),
// BENCH_KEEP_TMP=1 (keep generated configs), BENCH_IDLE_CONNECTIONS (2000), BENCH_HELD_UPLOADS (200).
//
// Everything runs on 127.0.0.1. Every child process is in its own process group and is killed
// when the harness exits, however it exits (see lib/children.js).
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCleanup, stopAllChildren } from './lib/children.js';
import { startBackends } from './lib/backends.js';
import { makeRunDir } from './lib/run-dir.js';
import { loadTool } from './lib/load.js';
import { saveScenarioResult } from './lib/results.js';
import { denoBinary, versionOf, which } from './lib/tools.js';
import { repoRoot } from './lib/paths.js';
import { envNumber, runSettings } from './lib/settings.js';
import * as throughput from './scenarios/throughput.js';
import * as routes from './scenarios/routes.js';
import * as stream from './scenarios/stream.js';
import * as longpath from './scenarios/longpath.js';
import * as memory from './scenarios/memory.js';
import * as oplog from './scenarios/oplog.js';
import * as https from './scenarios/https.js';
import * as workers from './scenarios/workers.js';
import * as store from './scenarios/store.js';

const SCENARIOS = { throughput, routes, stream, longpath, memory, oplog, https, workers, store };
// A default run includes every scenario only while the whole run fits in this budget; past it,
// the issues' headline numbers: throughput, and what the access log and metrics cost.
const DEFAULT_BUDGET_SECONDS = 5 * 60;
const DEFAULT_SCENARIOS = ['throughput', 'oplog'];

const settings = {
  ...runSettings({ seconds: 5, rounds: 5, warmupSeconds: 4, connections: 50 }),
  streamBytes: Math.round(envNumber('BENCH_STREAM_BYTES', 1024 ** 3)),
};

function chooseScenarios(args) {
  const names = args.filter((arg) => !arg.startsWith('-'));
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: node bench/run.js [${Object.keys(SCENARIOS).join('|')}|all]...`);
    for (const [name, scenario] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(11)} ${scenario.description} (~${scenario.estimateSeconds(settings)} s)`);
    process.exit(0);
  }
  if (names.includes('all')) return Object.keys(SCENARIOS);
  const unknown = names.filter((name) => !SCENARIOS[name]);
  if (unknown.length) {
    console.error(`unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}, all`);
    process.exit(2);
  }
  if (names.length) return names;
  const total = Object.values(SCENARIOS).reduce((sum, scenario) => sum + scenario.estimateSeconds(settings), 0);
  if (total <= DEFAULT_BUDGET_SECONDS) return Object.keys(SCENARIOS);
  console.error(`All scenarios would take about ${Math.round(total / 60)} min, so this runs only ${DEFAULT_SCENARIOS.map((n) => `'${n}'`).join(' and ')}.`);
  console.error(`Run the others with: ${Object.keys(SCENARIOS).filter((n) => !DEFAULT_SCENARIOS.includes(n)).map((n) => `node bench/run.js ${n}`).join(' ; ')}`);
  return DEFAULT_SCENARIOS;
}

function describeMachine() {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const deno = denoBinary();
  const nginx = which('nginx');
  const haproxy = which('haproxy');
  return {
    switchyard: pkg.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    deno: deno ? versionOf(deno, ['--version']) : null,
    nginx: nginx ? versionOf(nginx, ['-v']) : null,
    haproxy: haproxy ? versionOf(haproxy, ['-v']) : null,
    loadGenerator: loadTool() === 'wrk' ? versionOf(which('wrk'), ['-v']) : 'autocannon (in-process)',
  };
}

async function main() {
  installCleanup();
  const chosen = chooseScenarios(process.argv.slice(2));
  const budget = chosen.reduce((sum, name) => sum + SCENARIOS[name].estimateSeconds(settings), 0);
  // Last line of defence against a hang nobody foresaw: twice the estimate plus two minutes.
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${Math.round((budget * 2 + 120) / 60)} min; giving up`);
    process.exit(1); // the 'exit' handler kills every child
  }, (budget * 2 + 120) * 1000);
  watchdog.unref();

  const machine = describeMachine();
  // Two cores leave no room for anything else: say so when something else was already running
  // (measured before our own processes start, so it is someone else's load).
  machine.loadAverageAtStart = Number(os.loadavg()[0].toFixed(2));
  if (machine.loadAverageAtStart > 0.5) console.error(`bench: load average ${machine.loadAverageAtStart} before starting; expect noisy numbers`);
  console.error(`bench: ${chosen.join(', ')} (about ${Math.ceil(budget / 60)} min) with ${machine.loadGenerator}, ${machine.cores} cores`);
  const tmpDir = makeRunDir();
  const log = (line) => console.error(line);

  const backends = await startBackends({ timeoutMs: settings.startTimeoutMs });
  log(`bench: backends on ${backends.servers.join(', ')}`);

  const outputs = [];
  for (const name of chosen) {
    log(`\n== ${name}: ${SCENARIOS[name].description}`);
    try {
      const { table, result } = await SCENARIOS[name].run({ tmpDir, backends, settings, log });
      saveScenarioResult(name, result, machine);
      outputs.push(`## ${name}\n\n${table}`);
    } catch (error) {
      log(`bench: scenario ${name} failed: ${error.stack ?? error.message}`);
      outputs.push(`## ${name}\n\nfailed: ${error.message}`);
      process.exitCode = 1;
    }
  }

  await stopAllChildren();
  console.log(`\n${outputs.join('\n\n')}\n`);
  console.log(`machine: ${machine.cores} x ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.os}; node ${machine.node}; ${[machine.nginx, machine.haproxy?.split(' - ')[0], machine.deno?.split(' (')[0]].filter(Boolean).join('; ')}`);
  console.log('results: bench/results/latest.json' + (chosen.includes('throughput') ? ', bench/results/latest.svg' : ''));
}

main().catch(async (error) => {
  console.error(error.stack ?? error.message);
  await stopAllChildren();
  process.exit(1);
});
