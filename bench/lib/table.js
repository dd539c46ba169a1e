// Plain-text tables in Markdown form: readable in a terminal and pasteable into docs as is.

/** @param {string[]} headers @param {Array<Array<string|number>>} rows */
export function markdownTable(headers, rows) {
  const cells = [headers, ...rows].map((row) => row.map((cell) => String(cell ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  // Right-align a column when every cell is a number, a ratio or n/a (and at least one is filled).
  const numeric = headers.map((_, i) => rows.some((row) => row[i] !== '' && row[i] != null)
    && rows.every((row) => /^(n\/a|-|[\d.,]+x?)?$/.test(String(row[i] ?? ''))));
  const line = (row) => `| ${row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

export const formatInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
export const formatMs = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
export const formatRatio = (r) => (r == null ? 'n/a' : `${r.toFixed(2)}x`);

/** Table notes stay one readable line; the full text is in latest.json. */
export const shorten = (text, max = 110) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
