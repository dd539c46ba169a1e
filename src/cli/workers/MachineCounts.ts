import type { Registry } from 'prom-client';
import type { MetricsExposition } from '../../admin/adminApp.ts';
import type { Metrics } from '../../admin/metrics.ts';
import type { TrafficView } from '../../admin/statusReport.ts';
import type { Backend } from '../../core/pool/Backend.ts';
import type { WorkerCounts } from './messages.ts';
import { MetricFamilies } from './MetricFamilies.ts';

/**
 * Series the primary knows better than any worker: the backends' health (its prober's verdicts,
 * every worker's ejections) and the reloads (it reads the config). Workers' copies are left out
 * of the sum, where they would count each thing once per worker.
 */
const PRIMARY_ONLY = new Set(['switchyard_backend_up', 'switchyard_backend_ejections_total', 'switchyard_config_reloads_total', 'switchyard_config_last_reload_success_timestamp_seconds']);

/** Metrics that only go up, and so must not go down when a worker exits: counters and histograms summed across processes. */
const growing = (_name: string, type: string, aggregator: string) => (type === 'counter' || type === 'histogram') && aggregator === 'sum';

/** The metrics of a registry that do not merge by sum, and how they merge, for `MetricFamilies.add`. */
export function aggregatorsOf(registry: Registry): Record<string, string> {
  const found: Record<string, string> = {};
  for (const metric of registry.getMetricsAsArray()) if (metric.aggregator !== 'sum') found[metric.name] = metric.aggregator;
  return found;
}

/**
 * The whole machine's counts under `--workers`: `/metrics` (the primary's registry and each
 * worker's, merged) and the status's traffic (in flight and the last minute, summed over the
 * workers), from one round trip to the workers that every caller meanwhile shares. A worker that
 * has exited leaves its last counters and histograms behind (all of them, prom-client's process
 * and Node.js ones too), so no counter ever goes down, which Prometheus would read as a reset.
 * What a worker counted after its last answer is lost with it: an undercount, never a decrease.
 */
export class MachineCounts implements MetricsExposition {
  readonly #primary: Metrics;
  readonly #ask: () => Promise<ReadonlyMap<number, WorkerCounts>>;
  readonly #last = new Map<number, WorkerCounts>();
  /** Workers that have exited, whose late answers are not taken: their counts are in `#retired` already. */
  readonly #gone = new Set<number>();
  readonly #retired = new MetricFamilies();
  #asking: Promise<void> | undefined;

  /** @param ask each live worker's counts, by worker id; those late to answer are left out */
  constructor(primary: Metrics, ask: () => Promise<ReadonlyMap<number, WorkerCounts>>) {
    this.#primary = primary;
    this.#ask = ask;
  }

  get contentType(): string {
    return this.#primary.contentType;
  }

  async text(): Promise<string> {
    await this.#refresh();
    const merged = new MetricFamilies();
    merged.add(await this.#primary.text(), aggregatorsOf(this.#primary.registry));
    for (const counts of this.#last.values()) merged.add(counts.text, counts.aggregators, (name) => !PRIMARY_ONLY.has(name));
    merged.addAll(this.#retired);
    return merged.text();
  }

  /** In-flight requests and the last minute's traffic of each backend, summed over the live workers. */
  async traffic(): Promise<TrafficView> {
    await this.#refresh();
    const workers = [...this.#last.values()];
    return {
      inFlight: (backend: Backend) => workers.reduce((sum, counts) => sum + (counts.inFlight[backend.id] ?? 0), 0),
      lastMinute: (id: string) => {
        let requests = 0;
        let errors = 0;
        for (const counts of workers) {
          const [r, e] = counts.lastMinute[id] ?? [0, 0];
          requests += r;
          errors += e;
        }
        return { requests, errors };
      },
    };
  }

  /** Keeps the counters and histograms of a worker that has exited, from its last answer. */
  retire(id: number): void {
    this.#gone.add(id);
    const last = this.#last.get(id);
    this.#last.delete(id);
    if (last) this.#retired.add(last.text, last.aggregators, (name, type, aggregator) => !PRIMARY_ONLY.has(name) && growing(name, type, aggregator));
  }

  /** One round trip at a time: a scrape or status that comes while one is out waits for its answers. */
  #refresh(): Promise<void> {
    this.#asking ??= this.#ask()
      .then((answers) => {
        for (const [id, counts] of answers) if (!this.#gone.has(id)) this.#last.set(id, counts);
      })
      .finally(() => (this.#asking = undefined));
    return this.#asking;
  }
}
