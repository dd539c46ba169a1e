// Scenario `stream`: a 1 GiB download and a 1 GiB upload through Switchyard on Node, with the
// balancer's RSS sampled every 100 ms. A streaming proxy should grow by a few MiB at most; one
// that buffers a body grows by about the body. The bare backend runs the same transfers as the
// throughput ceiling of this machine.
import { startSwitchyard } from '../candidates/switchyard.js';
import { pathsConfig, writeConfig } from '../lib/switchyard-config.js';
import { startLineup, stopLineup } from '../lib/lineup.js';
import { download, upload } from '../lib/transfer.js';
import { sampleRss } from '../lib/rss.js';
import { markdownTable, formatInt, shorten } from '../lib/table.js';

export const description = '1 GiB download and upload through Switchyard on Node, peak RSS growth';
export const estimateSeconds = () => 45;

const MiB = 1024 * 1024;
// Warms up the JIT and the upstream connection pool, so the measured growth is the transfer's.
const WARMUP_BYTES = 64 * MiB;

export async function run({ tmpDir, backends, settings, log }) {
  const bytes = settings.streamBytes;
  const timeoutMs = Math.round(Number(process.env.BENCH_STREAM_TIMEOUT) || 120) * 1000;
  const configPath = writeConfig(tmpDir, 'stream.yaml', pathsConfig(backends.servers));
  const lineup = await startLineup([
    { name: 'direct (no balancer)', start: async () => ({ url: `http://${backends.servers[0]}` }) },
    { name: 'switchyard-node', start: () => startSwitchyard({ runtime: 'node', configPath, timeoutMs: settings.startTimeoutMs }) },
  ], { timeoutMs: settings.startTimeoutMs, log });

  const rows = [];
  try {
    for (const entry of lineup) {
      for (const [direction, transfer, path] of [['download', download, `/bytes/${bytes}`], ['upload', upload, '/sink']]) {
        const row = { name: entry.name, direction, bytes };
        rows.push(row);
        if (!entry.ok) {
          row.note = entry.note;
          continue;
        }
        const url = entry.url + (direction === 'download' ? `/bytes/${WARMUP_BYTES}` : path);
        try {
          await transfer(url, { bytes: WARMUP_BYTES, timeoutMs });
          // Only a balancer's memory is of interest; the direct row has no process of its own.
          const sampler = entry.pid ? sampleRss(entry.pid, 100) : null;
          const result = await transfer(entry.url + path, { bytes, timeoutMs });
          const rss = sampler?.stop();
          row.seconds = result.seconds;
          row.mibPerSecond = bytes / MiB / result.seconds;
          if (rss && rss.baseline != null) {
            row.rssBaselineMiB = rss.baseline / MiB;
            row.rssPeakMiB = rss.peak / MiB;
            row.rssGrowthMiB = (rss.peak - rss.baseline) / MiB;
            row.rssSamples = rss.samples;
          }
          log(`  ${entry.name} ${direction}: ${row.mibPerSecond.toFixed(0)} MiB/s${row.rssGrowthMiB != null ? `, RSS +${row.rssGrowthMiB.toFixed(1)} MiB (peak ${row.rssPeakMiB.toFixed(0)} MiB)` : ''}`);
        } catch (error) {
          row.note = `failed: ${error.message}`;
          log(`  ${entry.name} ${direction} ${row.note}`);
        }
      }
    }
  } finally {
    await stopLineup(lineup);
  }

  const table = markdownTable(
    ['candidate', 'direction', 'MiB', 'seconds', 'MiB/s', 'RSS before MiB', 'RSS peak MiB', 'peak growth MiB', 'note'],
    rows.map((row) => [
      row.name, row.direction, formatInt(bytes / MiB),
      row.seconds?.toFixed(2) ?? 'n/a', formatInt(row.mibPerSecond),
      row.rssBaselineMiB?.toFixed(1) ?? '-', row.rssPeakMiB?.toFixed(1) ?? '-', row.rssGrowthMiB?.toFixed(1) ?? '-', shorten(row.note ?? ''),
    ]),
  );
  const footnote = `RSS: /proc/PID/status VmRSS of the balancer every 100 ms, from just before the transfer to its end (after a ${WARMUP_BYTES / MiB} MiB warm-up transfer). One client connection, no keep-alive.`;
  return { table: `${table}\n\n${footnote}`, result: { settings, rows } };
}
