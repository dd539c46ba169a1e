// The few numbers the report needs from repeated runs.

/** Median: with the default two rounds this is their mean, with three it drops the outlier. */
export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function sum(values) {
  return values.reduce((total, v) => total + (Number.isFinite(v) ? v : 0), 0);
}

/** a / b, or null when either side is missing, so the table can print "n/a". */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null;
}
