// The targets, checked from one run. Each is a ratio between two candidates, taken per
// round (the two ran back to back, within a minute) and then the median over rounds: this
// machine's speed drifts by up to 2x over minutes, and a ratio within a round cancels most of it.
import { median, ratio } from './stats.js';
import { markdownTable, formatRatio } from './table.js';

export const THROUGHPUT_TARGETS = [
  { target: 'Node req/s at least 0.35x nginx', of: 'switchyard-node', to: 'nginx', metric: 'reqPerSec', met: (r) => r >= 0.35 },
  { target: 'Node req/s at least 1.25x node-http-proxy', of: 'switchyard-node', to: 'node-http-proxy', metric: 'reqPerSec', met: (r) => r >= 1.25 },
  { target: 'Deno req/s at least 0.45x nginx', of: 'switchyard-deno', to: 'nginx', metric: 'reqPerSec', met: (r) => r >= 0.45 },
  { target: 'Node p99 at most 3x nginx', of: 'switchyard-node', to: 'nginx', metric: 'p99Ms', met: (r) => r <= 3 },
  { target: 'Deno p99 at most 3x nginx', of: 'switchyard-deno', to: 'nginx', metric: 'p99Ms', met: (r) => r <= 3 },
  { target: 'tutorial config at most 10% below plain routing', of: 'switchyard-node-tutorial', to: 'switchyard-node', metric: 'reqPerSec', met: (r) => r >= 0.9 },
];

/** Per-round ratios of `of` to `to` on `metric`, over the rounds where both ran. */
export function roundRatios(rows, of, to, metric) {
  const a = rows.find((row) => row.name === of)?.runs ?? [];
  const b = rows.find((row) => row.name === to)?.runs ?? [];
  const ratios = [];
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const r = !a[i].failed && !b[i].failed ? ratio(a[i][metric], b[i][metric]) : null;
    if (r != null) ratios.push(r);
  }
  return ratios;
}

/**
 * `entry` against `baseline` on `metric`: the median of the per-round ratios and their range, or
 * nulls without a baseline (the baseline's own row) or a round where both ran.
 */
export function ratioTo(entry, baseline, metric) {
  const ratios = baseline ? roundRatios([entry, baseline], entry.name, baseline.name, metric) : [];
  return ratios.length ? { ratio: median(ratios), range: [Math.min(...ratios), Math.max(...ratios)] } : { ratio: null, range: null };
}

/** Each target with its median per-round ratio, the range over rounds, and whether it is met. */
export function checkTargets(rows, targets = THROUGHPUT_TARGETS) {
  return targets.map(({ target, of, to, metric, met }) => {
    const ratios = roundRatios(rows, of, to, metric);
    const value = ratios.length ? median(ratios) : null;
    return { target, of, to, metric, ratio: value, min: ratios.length ? Math.min(...ratios) : null, max: ratios.length ? Math.max(...ratios) : null, rounds: ratios.length, met: value == null ? null : met(value) };
  });
}

export function targetsTable(checked) {
  return markdownTable(
    ['target', 'median per-round ratio', 'range over rounds', 'met?'],
    checked.map((t) => [t.target, formatRatio(t.ratio), t.min == null ? 'n/a' : `${formatRatio(t.min)} - ${formatRatio(t.max)}`, t.met == null ? 'not run' : t.met ? 'yes' : 'no']),
  );
}
