import { describe, expect, it } from 'vitest';
import { MetricFamilies } from '../../src/cli/workers/MetricFamilies.ts';

const exposition = (name: string, type: string, series: Record<string, number>) =>
  [`# HELP ${name} Some ${name}.`, `# TYPE ${name} ${type}`, ...Object.entries(series).map(([key, value]) => `${key} ${value}`), ''].join('\n');

describe('MetricFamilies (the merge of --workers /metrics)', () => {
  it('sums series by their text, whatever order each process lists them in, and keeps those only one has', () => {
    const merged = new MetricFamilies();
    merged.add(exposition('x_total', 'counter', { 'x_total{a="1"}': 1, 'x_total{a="2"}': 2 }));
    merged.add(exposition('x_total', 'counter', { 'x_total{a="2"}': 20, 'x_total{a="3"}': 30, 'x_total{a="1"}': 10 }));
    expect(merged.text()).toBe(exposition('x_total', 'counter', { 'x_total{a="1"}': 11, 'x_total{a="2"}': 22, 'x_total{a="3"}': 30 }));
  });

  it("merges each metric by its process's aggregator, and leaves out the omitted and those not kept", () => {
    const merged = new MetricFamilies();
    const aggregators = { lag: 'average', version: 'first', low: 'min', high: 'max', start: 'omit' };
    for (const value of [1, 3]) {
      const text = ['lag', 'version', 'low', 'high', 'start', 'skipped'].map((name) => exposition(name, 'gauge', { [name]: value })).join('');
      merged.add(text, aggregators, (name) => name !== 'skipped');
    }
    const values = Object.fromEntries(merged.text().split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(' ')));
    expect(values).toEqual({ lag: '2', version: '1', low: '1', high: '3' });
  });

  it('adds one set to another as it would add the processes behind it', () => {
    const retired = new MetricFamilies();
    retired.add(exposition('x_total', 'counter', { 'x_total{a="1"}': 5 }));
    const merged = new MetricFamilies();
    merged.add(exposition('x_total', 'counter', { 'x_total{a="2"}': 1, 'x_total{a="1"}': 1 }));
    merged.addAll(retired);
    expect(merged.text()).toBe(exposition('x_total', 'counter', { 'x_total{a="2"}': 1, 'x_total{a="1"}': 6 }));
  });
});
