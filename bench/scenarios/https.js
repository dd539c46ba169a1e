// Scenario `https`: TLS termination against nginx (issue 14 point 7). nginx (one worker) and
// Switchyard on Node and on Deno each serve one TLS listener offering h2 and http/1.1, with the
// same ECDSA P-256 certificate (made here with openssl) in front of the same two backends.
// Three measures, each a ratio to nginx within a round, then the median over rounds:
//
//   https       HTTP/1.1 over TLS with keep-alive: wrk -t1 -c50 (BENCH_CONNECTIONS)
//   h2          HTTP/2: h2load -t1 -c10 -m5, 50 streams over 10 connections
//   handshakes  a new TLS connection per request: wrk -t1 -c50 -H 'Connection: close'. TLS 1.3;
//               wrk keeps its last session, so it resumes with the ticket it was given where the
//               server allows it (about every other connection, as a browser would), else a full
//               handshake (ECDHE with an ECDSA signature).
//
// Each run follows a warm-up of the same load; within a round the three candidates run back to
// back for each measure, in an order that rotates from round to round. The balancer's own CPU
// time per request (lib/cpu.js) is kept beside req/s. The issue's targets: each at least 0.5x nginx.
import { makeCertificate } from '../lib/certificate.js';
import { startTlsNginx, startTlsSwitchyard, waitUntilServingTls } from '../lib/tls-candidates.js';
import { drive } from '../lib/load.js';
import { driveH2load } from '../lib/h2load.js';
import { readGroupCpuSeconds } from '../lib/cpu.js';
import { isStopping, stopChild } from '../lib/children.js';
import { median, sum } from '../lib/stats.js';
import { roundRatios } from '../lib/targets.js';
import { markdownTable, formatInt, formatMs, formatRatio, shorten } from '../lib/table.js';

const H2_CONNECTIONS = 10;
const H2_STREAMS = 5;
const MIN_RATIO = 0.5;

const MEASURES = [
  { measure: 'https', label: 'HTTPS/1.1 keep-alive req/s', drive: (url, s) => drive({ url, seconds: s.seconds, connections: s.connections }) },
  { measure: 'h2', label: 'h2 req/s', drive: (url, s) => driveH2load({ url, seconds: s.seconds, connections: H2_CONNECTIONS, streams: H2_STREAMS }) },
  { measure: 'handshakes', label: 'TLS handshakes/s (new connection per request)', drive: (url, s) => drive({ url, seconds: s.seconds, connections: s.connections, headers: { Connection: 'close' } }) },
];

export const description = 'HTTPS keep-alive, h2 and TLS handshakes per second: Switchyard (Node, Deno) against nginx, same certificate';
export const estimateSeconds = ({ seconds, rounds, warmupSeconds }) => 3 * MEASURES.length * rounds * (seconds + warmupSeconds) + 20;

export async function run({ tmpDir, backends, settings, log }) {
  const { servers } = backends;
  const timeoutMs = settings.startTimeoutMs;
  const { cert, key } = makeCertificate(tmpDir);
  const lineup = await startAll([
    { name: 'nginx', start: () => startTlsNginx({ servers, tmpDir, timeoutMs, cert, key }) },
    { name: 'switchyard-node', runtime: 'node', start: () => startTlsSwitchyard({ runtime: 'node', servers, tmpDir, timeoutMs, cert, key }) },
    { name: 'switchyard-deno', runtime: 'deno', start: () => startTlsSwitchyard({ runtime: 'deno', servers, tmpDir, timeoutMs, cert, key }) },
  ], { cert, timeoutMs, log });

  try {
    await measure(lineup, { settings, log });
  } finally {
    await Promise.all(lineup.map((entry) => entry.stop()));
  }

  const rows = lineup.flatMap((entry) => MEASURES.map(({ measure, label }) => {
    const runs = entry.runs?.[measure] ?? [];
    const good = runs.filter((r) => !r.failed);
    const ratios = entry.name === 'nginx' ? [] : perRound(lineup, entry, measure, 'reqPerSec');
    const cpuRatios = entry.name === 'nginx' ? [] : perRound(lineup, entry, measure, 'cpuUsPerRequest');
    return {
      name: entry.name,
      measure,
      label,
      reqPerSec: median(good.map((r) => r.reqPerSec)),
      p50Ms: median(good.map((r) => r.p50Ms)),
      p99Ms: median(good.map((r) => r.p99Ms)),
      meanMs: median(good.map((r) => r.meanMs)),
      errors: sum(good.map((r) => r.errors)),
      requests: sum(good.map((r) => r.requests)),
      cpuUsPerRequest: median(good.map((r) => r.cpuUsPerRequest)),
      tlsProtocol: good.find((r) => r.tlsProtocol)?.tlsProtocol ?? null,
      reqRatio: ratios.length ? median(ratios) : null,
      reqRatioRange: ratios.length ? [Math.min(...ratios), Math.max(...ratios)] : null,
      cpuRatio: cpuRatios.length ? median(cpuRatios) : null,
      note: entry.note ?? (runs.length - good.length ? `${runs.length - good.length} run(s) failed: ${runs.find((r) => r.failed).failed}` : ''),
      runs,
    };
  }));
  const result = { settings: { ...settings, h2Connections: H2_CONNECTIONS, h2Streams: H2_STREAMS }, rows };
  result.targets = targetsOf(rows);
  return { table: report(result), result };
}

async function startAll(definitions, { cert, timeoutMs, log }) {
  const only = (process.env.BENCH_CANDIDATES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const lineup = [];
  for (const { start, ...definition } of definitions) {
    if (only.length && !only.includes(definition.name)) continue;
    const entry = { ...definition, ok: false, stop: async () => {} };
    lineup.push(entry);
    try {
      const running = await start();
      Object.assign(entry, { url: running.url, pid: running.pid, stop: () => stopChild(running.record) });
      await waitUntilServingTls(`${entry.url}/`, { cert, timeoutMs });
      entry.ok = true;
      log(`  started ${entry.name} at ${entry.url}`);
    } catch (error) {
      entry.note = `skipped: ${error.message}`;
      log(`  ${entry.name} ${entry.note}`);
      await entry.stop();
    }
  }
  return lineup;
}

/** Every measure, every round; within a round each measure's candidates back to back, rotated. */
async function measure(lineup, { settings, log }) {
  const active = lineup.filter((entry) => entry.ok);
  for (const entry of active) entry.runs = Object.fromEntries(MEASURES.map(({ measure: m }) => [m, []]));
  for (let round = 1; round <= settings.rounds; round += 1) {
    const shift = (round - 1) % Math.max(1, active.length);
    const order = [...active.slice(shift), ...active.slice(0, shift)];
    for (const { measure: m, drive: load } of MEASURES) {
      for (const entry of order) {
        const url = `${entry.url}/`;
        try {
          await load(url, { ...settings, seconds: settings.warmupSeconds });
          const cpuBefore = readGroupCpuSeconds(entry.pid);
          const result = await load(url, settings);
          const cpuAfter = readGroupCpuSeconds(entry.pid);
          result.cpuUsPerRequest = cpuBefore != null && cpuAfter != null && result.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / result.requests : NaN;
          entry.runs[m].push(result);
          log(`  round ${round}/${settings.rounds} ${m.padEnd(10)} ${entry.name.padEnd(16)} ${Math.round(result.reqPerSec).toString().padStart(7)} req/s  CPU ${result.cpuUsPerRequest.toFixed(0)} us/req  errors ${result.errors}`);
        } catch (error) {
          if (isStopping()) return;
          entry.runs[m].push({ failed: error.message });
          log(`  round ${round}/${settings.rounds} ${m} ${entry.name} failed: ${error.message}`);
        }
      }
    }
  }
}

function perRound(lineup, entry, measure, metric) {
  const nginx = lineup.find((other) => other.name === 'nginx');
  if (!nginx?.runs || !entry.runs) return [];
  return roundRatios([{ name: 'a', runs: entry.runs[measure] }, { name: 'b', runs: nginx.runs[measure] }], 'a', 'b', metric);
}

/** The issue's targets, each at least 0.5x nginx in the same round (the issue names Node for HTTPS). */
function targetsOf(rows) {
  return rows
    .filter((row) => row.name !== 'nginx')
    .map((row) => ({
      target: `${row.name.replace('switchyard-', '')}: ${row.label} at least ${MIN_RATIO}x nginx`,
      ratio: row.reqRatio,
      range: row.reqRatioRange,
      cpuRatio: row.cpuRatio,
      met: row.reqRatio == null ? null : row.reqRatio >= MIN_RATIO,
    }));
}

/** The scenario's tables from its (saved) result. */
export function report({ settings, rows }) {
  const range = (r) => (r ? `${formatRatio(r[0])}-${formatRatio(r[1])}` : 'n/a');
  const table = markdownTable(
    ['measure', 'candidate', 'req/s', 'latency ms (p50 / p99, h2: mean)', 'errors', 'CPU us/request', 'req/s vs nginx', 'range', 'CPU/request vs nginx', 'note'],
    rows.map((row) => [
      row.measure, row.name, formatInt(row.reqPerSec),
      row.measure === 'h2' ? formatMs(row.meanMs) : `${formatMs(row.p50Ms)} / ${formatMs(row.p99Ms)}`,
      row.runs.length ? formatInt(row.errors) : 'n/a',
      Number.isFinite(row.cpuUsPerRequest) ? row.cpuUsPerRequest.toFixed(1) : 'n/a',
      row.name === 'nginx' ? '1.00x' : formatRatio(row.reqRatio), range(row.reqRatioRange),
      row.name === 'nginx' ? '1.00x' : formatRatio(row.cpuRatio), shorten(row.note),
    ]),
  );
  const h2Protocol = rows.find((row) => row.measure === 'h2' && row.tlsProtocol)?.tlsProtocol;
  const footnote = `${settings.rounds} interleaved round(s) of ${settings.seconds} s after ${settings.warmupSeconds} s of warm-up; `
    + `https and handshakes: wrk -t1 -c${settings.connections} (handshakes with Connection: close), h2: h2load -t1 -c${settings.h2Connections} -m${settings.h2Streams}`
    + `${h2Protocol ? ` (${h2Protocol})` : ''}. Ratios are to nginx (1 worker) in the same round, median over rounds. `
    + 'CPU us/request: user + system time of the candidate\'s process group over the run (/proc, 10 ms ticks) over the requests answered.';
  const targetTable = markdownTable(
    ['target', 'req/s vs nginx (median per round)', 'range', 'CPU/request vs nginx', 'met?'],
    targetsOf(rows).map((t) => [t.target, formatRatio(t.ratio), range(t.range), formatRatio(t.cpuRatio), t.met == null ? 'not run' : t.met ? 'yes' : 'no']),
  );
  return `${table}\n\n${footnote}\n\n${targetTable}`;
}
