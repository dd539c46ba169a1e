// A hand-written SVG bar chart of req/s per candidate: small, dependency-free, diffable, and
// rendered by any browser or GitHub. One horizontal bar per candidate, the ratio to nginx beside it.

const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * @param {{ title: string, subtitle?: string, bars: Array<{ label: string, value: number | null,
 *   text: string, highlight?: boolean }> }} chart  value null draws no bar (skipped candidate)
 */
export function barChartSvg({ title, subtitle = '', bars }) {
  const labelWidth = 210;
  const barArea = 430;
  const textWidth = 260;
  const rowHeight = 30;
  const top = subtitle ? 62 : 44;
  const width = labelWidth + barArea + textWidth;
  const height = top + bars.length * rowHeight + 16;
  const max = Math.max(1, ...bars.map((bar) => bar.value ?? 0));

  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const length = bar.value ? Math.max(1, (bar.value / max) * barArea) : 0;
    const fill = bar.highlight ? '#d9480f' : '#4c6ef5';
    return [
      `  <text x="${labelWidth - 10}" y="${y + 19}" text-anchor="end">${escape(bar.label)}</text>`,
      length ? `  <rect x="${labelWidth}" y="${y + 5}" width="${length.toFixed(1)}" height="${rowHeight - 10}" rx="2" fill="${fill}"/>` : '',
      `  <text x="${labelWidth + length + 8}" y="${y + 19}" fill="${bar.value ? '#222' : '#888'}">${escape(bar.text)}</text>`,
    ].filter(Boolean).join('\n');
  });

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="16" y="26" font-size="16" font-weight="600">${escape(title)}</text>
${subtitle ? `  <text x="16" y="46" fill="#555">${escape(subtitle)}</text>\n` : ''}${rows.join('\n')}
</svg>
`;
}
