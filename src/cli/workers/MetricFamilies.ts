/** One metric of an exposition: its `# HELP` line, type, how processes' series merge, and its series by their text (`name{labels}`). */
interface Family {
  readonly help: string;
  readonly type: string;
  readonly aggregator: string;
  readonly keys: string[];
  readonly values: number[];
  /** How many processes gave each series, for `average`. */
  readonly seen: number[];
  /** Where each key is, built the first time a process lists the series in another order. */
  index?: Map<string, number>;
}

/**
 * Metrics of several processes merged by the text of each series, as prom-client's
 * `AggregatorRegistry` does by labels, but with no label object per value. Processes that run
 * the same config list the same series in the same order, so a series is first looked for at its
 * place in the list (a string comparison), and only then by a Map. Each metric merges by its
 * prom-client `aggregator` (sum unless the process said otherwise).
 */
export class MetricFamilies {
  readonly #families = new Map<string, Family>();

  /**
   * Adds one process's exposition (the Prometheus text format, as prom-client writes it: no
   * timestamps, a `# HELP` and `# TYPE` line before each metric's series).
   * @param aggregators how the metrics that are not summed merge, by name
   * @param keep which metrics to take, by name, type and aggregator @default all
   */
  add(text: string, aggregators: Readonly<Record<string, string>> = {}, keep: (name: string, type: string, aggregator: string) => boolean = () => true): void {
    let family: Family | undefined;
    let help = '';
    let position = 0;
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
        position = 0;
        if (aggregator === 'omit' || !keep(name, type, aggregator)) continue;
        family = this.#families.get(name);
        if (!family) this.#families.set(name, (family = { help, type, aggregator, keys: [], values: [], seen: [] }));
        continue;
      }
      if (!family || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      merge(family, line.slice(0, space), Number(line.slice(space + 1)), position++);
    }
  }

  /** Adds what another set holds (series merged as `add` merges them). */
  addAll(other: MetricFamilies): void {
    for (const [name, theirs] of other.#families) {
      let family = this.#families.get(name);
      if (!family) this.#families.set(name, (family = { help: theirs.help, type: theirs.type, aggregator: theirs.aggregator, keys: [], values: [], seen: [] }));
      theirs.keys.forEach((key, i) => merge(family, key, theirs.values[i], i, theirs.seen[i]));
    }
  }

  /** The merged exposition, in the Prometheus text format. */
  text(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(family.help, `# TYPE ${name} ${family.type}`);
      const average = family.aggregator === 'average';
      family.keys.forEach((key, i) => lines.push(`${key} ${average ? family.values[i] / family.seen[i] : family.values[i]}`));
    }
    lines.push('');
    return lines.join('\n');
  }
}

function merge(family: Family, key: string, value: number, position: number, seen = 1): void {
  let at = family.keys[position] === key ? position : undefined;
  if (at === undefined && family.keys.length > 0) {
    family.index ??= new Map(family.keys.map((each, i) => [each, i]));
    at = family.index.get(key);
  }
  if (at === undefined) {
    family.index?.set(key, family.keys.length);
    family.keys.push(key);
    family.values.push(value);
    family.seen.push(seen);
    return;
  }
  const before = family.values[at];
  family.seen[at] += seen;
  switch (family.aggregator) {
    case 'first':
      return;
    case 'min':
      family.values[at] = Math.min(before, value);
      return;
    case 'max':
      family.values[at] = Math.max(before, value);
      return;
    default:
      family.values[at] = before + value;
  }
}
