/** One metric of an exposition: its `# HELP` text, type, how processes' series merge, and its series by their text (`name{labels}`). */
interface Family {
  readonly help: string;
  readonly type: string;
  readonly aggregator: string;
  readonly series: Map<string, number>;
  /** How many processes gave each series, for `average`. */
  readonly seen: Map<string, number>;
}

/**
 * Metrics of several processes merged by the text of each series, as prom-client's
 * `AggregatorRegistry` does by labels, but with no label object per value: a series is a string
 * key into a Map, so a merge costs a line split and a Map update per series. Each metric merges
 * by its prom-client `aggregator` (sum unless the process said otherwise).
 */
export class MetricFamilies {
  readonly #families = new Map<string, Family>();

  /**
   * Adds one process's exposition (the Prometheus text format, as prom-client writes it: no
   * timestamps, a `# HELP` and `# TYPE` line before each metric's series).
   * @param aggregators how the metrics that are not summed merge, by name
   * @param keep which metrics to take, by name and type @default all
   */
  add(text: string, aggregators: Readonly<Record<string, string>> = {}, keep: (name: string, type: string, aggregator: string) => boolean = () => true): void {
    let family: Family | undefined;
    let help = '';
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('# HELP ')) {
        help = line;
        continue;
      }
      if (line.startsWith('# TYPE ')) {
        const [, , name, type] = line.split(' ');
        const aggregator = aggregators[name] ?? 'sum';
        family = undefined;
        if (aggregator === 'omit' || !keep(name, type, aggregator)) continue;
        family = this.#families.get(name);
        if (!family) this.#families.set(name, (family = { help, type, aggregator, series: new Map(), seen: new Map() }));
        continue;
      }
      if (!family || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      merge(family, line.slice(0, space), Number(line.slice(space + 1)));
    }
  }

  /** Adds what another set holds (series merged as `add` merges them). */
  addAll(other: MetricFamilies): void {
    for (const [name, theirs] of other.#families) {
      let family = this.#families.get(name);
      if (!family) this.#families.set(name, (family = { ...theirs, series: new Map(), seen: new Map() }));
      for (const [key, value] of theirs.series) merge(family, key, value, theirs.seen.get(key) ?? 1);
    }
  }

  /** The merged exposition, in the Prometheus text format. */
  text(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(family.help, `# TYPE ${name} ${family.type}`);
      for (const [key, value] of family.series) lines.push(`${key} ${family.aggregator === 'average' ? value / family.seen.get(key)! : value}`);
    }
    lines.push('');
    return lines.join('\n');
  }
}

function merge(family: Family, key: string, value: number, seen = 1): void {
  const before = family.series.get(key);
  family.seen.set(key, (family.seen.get(key) ?? 0) + seen);
  if (before === undefined) return void family.series.set(key, value);
  switch (family.aggregator) {
    case 'first':
      return;
    case 'min':
      return void family.series.set(key, Math.min(before, value));
    case 'max':
      return void family.series.set(key, Math.max(before, value));
    default:
      family.series.set(key, before + value);
  }
}
