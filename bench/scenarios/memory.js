// Scenario `memory`: what a connection the balancer keeps costs it in memory. Two measurements,
// each on a freshly started process of each candidate (Switchyard on Node and on Deno, nginx when
// installed), after a warm-up:
//   idle    2,000 keep-alive connections, each answered once and then left idle;
//   upload  200 uploads (POST /sink, Content-Length 1 MiB) that sent their head and 64 KiB of body
//           and then wait, so the balancer holds them mid-body (Switchyard streams each to a
//           backend; nginx buffers the body, to disk past client_body_buffer_size).
// The figure is the RSS of the candidate's process group after the connections are open, less
// the RSS before, divided by their number. RSS is what the kernel charges; a runtime that keeps
// freed memory keeps it in this figure too, which is why each measurement gets a fresh process.
import { startSwitchyard } from '../candidates/switchyard.js';
import { startNginx } from '../candidates/nginx.js';
import { pathsConfig, writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { holdIdleConnections, holdUploads, openCount } from '../lib/hold.js';
import { readGroupRssBytes } from '../lib/rss.js';
import { markdownTable, formatInt, shorten } from '../lib/table.js';

const IDLE_CONNECTIONS = Math.round(Number(process.env.BENCH_IDLE_CONNECTIONS) || 2000);
const HELD_UPLOADS = Math.round(Number(process.env.BENCH_HELD_UPLOADS) || 200);
const KiB = 1024;
const MiB = 1024 * KiB;
// Long enough for the balancer to finish with the burst of new connections (and, for uploads, to
// reach the backend), short against the 60 s idle and body timeouts of every candidate.
const SETTLE_MS = 1500;

export const description = `RSS per idle keep-alive connection (${formatInt(IDLE_CONNECTIONS)}) and per held upload (${HELD_UPLOADS}): Switchyard (Node, Deno), nginx`;
export const estimateSeconds = () => 50;

const MEASUREMENTS = [
  { kind: 'idle', count: IDLE_CONNECTIONS, hold: (url, count) => holdIdleConnections(url, { count }) },
  { kind: 'upload', count: HELD_UPLOADS, hold: (url, count) => holdUploads(`${url}/sink`, { count }) },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function run({ tmpDir, backends, settings, log }) {
  const { servers } = backends;
  const timeoutMs = settings.startTimeoutMs;
  const configPath = writeConfig(tmpDir, 'memory.yaml', pathsConfig(servers));
  const candidates = [
    { name: 'switchyard-node', start: () => startSwitchyard({ runtime: 'node', configPath, timeoutMs }) },
    { name: 'switchyard-deno', start: () => startSwitchyard({ runtime: 'deno', configPath, timeoutMs }) },
    { name: 'nginx', start: () => startNginx({ servers, tmpDir, timeoutMs }) },
  ];

  const rows = [];
  for (const measurement of MEASUREMENTS) {
    for (const candidate of candidates) {
      // One at a time, each stopped before the next starts: the others' memory is not in the way.
      const [entry] = await startLineup([candidate], { timeoutMs, log });
      if (!entry) continue; // left out with BENCH_CANDIDATES
      const row = { name: entry.name, kind: measurement.kind, count: measurement.count };
      rows.push(row);
      try {
        if (!entry.ok) {
          row.note = entry.note;
          continue;
        }
        Object.assign(row, await measure(entry, measurement));
        log(`  ${entry.name} ${measurement.kind}: ${row.open} of ${row.count} open, RSS ${(row.before / MiB).toFixed(1)} -> ${(row.after / MiB).toFixed(1)} MiB, ${(row.bytesEach / KiB).toFixed(1)} KiB each`);
      } catch (error) {
        row.note = `failed: ${error.message}`;
        log(`  ${entry.name} ${measurement.kind} ${row.note}`);
      } finally {
        await stopLineup([entry]);
      }
    }
  }

  const table = markdownTable(
    ['candidate', 'held', 'count', 'still open', 'RSS before MiB', 'RSS after MiB', 'KiB each', 'note'],
    rows.map((row) => [
      row.name, row.kind === 'idle' ? 'idle keep-alive' : 'upload mid-body', formatInt(row.count), row.open == null ? 'n/a' : formatInt(row.open),
      row.before == null ? '-' : (row.before / MiB).toFixed(1), row.after == null ? '-' : (row.after / MiB).toFixed(1),
      Number.isFinite(row.bytesEach) ? (row.bytesEach / KiB).toFixed(1) : 'n/a', shorten(row.note ?? ''),
    ]),
  );
  const footnote = 'KiB each: (RSS after - RSS before) / count, RSS summed over the candidate\'s process group (/proc VmRSS; for Deno the `deno task` parent too, the same before and after), '
    + `read ${SETTLE_MS} ms after the last connection opened. Fresh process per measurement, warmed up with 100 connections and 20 abandoned uploads. `
    + 'Idle: each connection answered one GET first. Upload: 64 KiB of a 1 MiB body sent, then nothing.';
  return { table: `${table}\n\n${footnote}`, result: { rows, idleConnections: IDLE_CONNECTIONS, heldUploads: HELD_UPLOADS } };
}

async function measure(entry, { count, hold }) {
  // Warm-up: code compiled, pools and buffers grown by connections like the measured ones.
  (await holdIdleConnections(entry.url, { count: 100 })).close();
  (await holdUploads(`${entry.url}/sink`, { count: 20 })).close();
  await sleep(SETTLE_MS);
  const before = readGroupRssBytes(entry.pid);
  const held = await hold(entry.url, count);
  try {
    await sleep(SETTLE_MS);
    const after = readGroupRssBytes(entry.pid);
    const open = openCount(held);
    const bytesEach = before != null && after != null ? (after - before) / count : NaN;
    return { before, after, open, bytesEach, note: open < count ? `${count - open} closed by the balancer before the reading` : '' };
  } finally {
    held.close();
  }
}
