import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { MetricsExposition } from '../../admin/adminApp.ts';
import type { Metrics } from '../../admin/metrics.ts';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/**
 * Series the primary knows better than any worker: the backends' health (its prober's verdicts,
 * every worker's ejections) and the reloads (it reads the config). Workers' copies are left out
 * of the sum, where they would count each thing once per worker.
 */
const PRIMARY_ONLY = new Set(['switchyard_backend_up', 'switchyard_backend_ejections_total', 'switchyard_config_reloads_total', 'switchyard_config_last_reload_success_timestamp_seconds']);

/**
 * `/metrics` for the whole machine under `--workers`: the primary's registry and each worker's,
 * merged by prom-client's `AggregatorRegistry.aggregate` (each metric by its `aggregator`: counts
 * summed). A worker that has exited leaves its last counts behind, so a counter never goes down
 * (Prometheus would read that as a reset and count the series again).
 */
export class MachineMetrics implements MetricsExposition {
  readonly #primary: Metrics;
  readonly #ask: () => Promise<ReadonlyMap<number, unknown[]>>;
  readonly #last = new Map<number, MetricJson[]>();
  #retired: MetricJson[] = [];

  /** @param ask each live worker's `getMetricsAsJSON()`, by worker id; those late to answer are left out */
  constructor(primary: Metrics, ask: () => Promise<ReadonlyMap<number, unknown[]>>) {
    this.#primary = primary;
    this.#ask = ask;
  }

  get contentType(): string {
    return this.#primary.contentType;
  }

  async text(): Promise<string> {
    for (const [id, json] of await this.#ask()) this.#last.set(id, (json as MetricJson[]).filter((metric) => !PRIMARY_ONLY.has(metric.name)));
    const own = (await this.#primary.registry.getMetricsAsJSON()) as MetricJson[];
    return AggregatorRegistry.aggregate([own, ...this.#last.values(), this.#retired]).metrics();
  }

  /** Keeps the counts of a worker that has exited: counters and histograms only (its gauges and process metrics went with it). */
  async retire(id: number): Promise<void> {
    const last = this.#last.get(id);
    this.#last.delete(id);
    if (!last) return;
    const kept = last.filter((metric) => ['counter', 'histogram'].includes(String(metric.type)) && !metric.name.startsWith('process_') && !metric.name.startsWith('nodejs_'));
    this.#retired = (await AggregatorRegistry.aggregate([this.#retired, kept]).getMetricsAsJSON()) as MetricJson[];
  }
}
