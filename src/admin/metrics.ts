import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { CompiledConfig } from '../core/config/compileConfig.ts';
import type { HealthState } from '../core/health/HealthState.ts';
import type { RequestRecord } from '../core/observe/RequestRecord.ts';
import { FALLBACK_REASONS } from '../core/RateLimitStore.ts';
import type { StoreStats } from '../store/RedisStore.ts';
import { CODES, codeIndex, NO_ROUTE } from './metricLabels.ts';

export { NO_ROUTE } from './metricLabels.ts';


/** What `Metrics` reads besides the config, at each scrape. */
export interface MetricSources {
  readonly store?: () => StoreStats | undefined;
  readonly certificates?: () => ReadonlyMap<string, number>;
}

/**
 * The Prometheus metrics (docs/operations.md lists them), kept by prom-client in their own
 * registry. Label values come only from the config (route and backend names) and status classes,
 * never from a request's path or client, so the number of series is bounded by the config.
 * Counting a request looks up label children cached per route, not prom-client's label hashing.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #ejections: Counter<'backend'>;
  readonly #reloads: Counter<'result'>;
  readonly #lastReloadSuccess: Gauge;
  /** The health states whose ejections are counted already: a reload hands a state on to the next config. */
  readonly #watched = new WeakSet<HealthState>();
  readonly #byRoute = new Map<string, RouteSeries>();
  readonly #syncStore: () => void;

  /**
   * @param config the config in use, read at each scrape for the gauges
   * @param sources what else is read at each scrape: the shared store's state (`SharedStores.stats`,
   *   undefined while the config has no `store`) and each certificate name the TLS listeners serve
   *   with its expiry (seconds since the epoch)
   */
  constructor(config: () => CompiledConfig, sources: MetricSources = {}) {
    const { store = () => undefined, certificates = () => new Map() } = sources;
    const registers = [this.registry];
    const byRoute = this.#byRoute;
    // Counted per request in plain arrays (prom-client hashes the labels on every inc, even a
    // child's), and handed to prom-client when Prometheus scrapes.
    new Counter({
      name: 'switchyard_requests_total',
      help: 'Requests answered, by route and status class.',
      labelNames: ['route', 'code'],
      registers,
      collect() {
        this.reset();
        for (const [route, series] of byRoute) series.requests.forEach((count, i) => this.inc({ route, code: CODES[i] }, count));
      },
    });
    // A histogram counted in plain arrays too, and written out at scrape time in the form
    // prom-client's own Histogram gives (prom-client's hashes its labels on every observation).
    this.registry.registerMetric(durationHistogram(byRoute) as unknown as Metric);
    new Counter({
      name: 'switchyard_backend_requests_total',
      help: 'Tries sent to each backend, by route and the status class of its answer (5xx for none).',
      labelNames: ['route', 'backend', 'code'],
      registers,
      collect() {
        this.reset();
        for (const [route, series] of byRoute) {
          for (const [backend, counts] of series.backends) counts.forEach((count, i) => this.inc({ route, backend, code: CODES[i] }, count));
        }
      },
    });
    new Gauge({
      name: 'switchyard_backend_up',
      help: 'Whether the backend may be picked by health: 1 unless down by active checks or ejected by passive health.',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const backend of config().backends) this.set({ backend: backend.name }, backend.health.isUp && !backend.health.isEjected(now) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchyard_backend_in_flight',
      help: 'Requests sent to the backend and not yet answered in full.',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const backend of config().backends) this.set({ backend: backend.name }, backend.inFlight);
      },
    });
    new Gauge({
      name: 'switchyard_certificate_expiry_timestamp_seconds',
      help: "When each certificate name the TLS listeners serve expires, in seconds since the epoch: the files' and those tls.acme obtained.",
      labelNames: ['host'],
      registers,
      // Under --workers each worker serves the same certificates: the machine's is the earliest.
      aggregator: 'min',
      collect() {
        this.reset();
        for (const [host, at] of certificates()) this.set({ host }, at);
      },
    });
    this.#ejections = new Counter({ name: 'switchyard_backend_ejections_total', help: 'Times passive health ejected the backend.', labelNames: ['backend'], registers });
    const perRoute = (name: string, help: string, count: (series: RouteSeries) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['route'],
        registers,
        collect() {
          this.reset();
          for (const [route, series] of byRoute) this.inc({ route }, count(series));
        },
      });
    perRoute('switchyard_retries_total', 'Retries: tries after the first, by route.', (series) => series.retries);
    perRoute('switchyard_rate_limited_total', 'Requests refused with 429 by a rate limit, by route.', (series) => series.rateLimited);
    perRoute('switchyard_firewall_refused_total', 'Requests refused with 403 by firewall rules, by route.', (series) => series.firewallRefused);
    this.#reloads = new Counter({ name: 'switchyard_config_reloads_total', help: 'Config reloads, by result.', labelNames: ['result'], registers });
    this.#lastReloadSuccess = new Gauge({
      name: 'switchyard_config_last_reload_success_timestamp_seconds',
      help: 'When the config in use was loaded (start-up or the last successful reload), in seconds since the epoch.',
      registers,
    });
    this.#reloads.inc({ result: 'success' }, 0);
    this.#reloads.inc({ result: 'failure' }, 0);
    this.#syncStore = storeMetrics(this.registry, store);
    processMetrics(this.registry);
  }

  /** Counts a request once it is answered. */
  readonly observe = (record: RequestRecord): void => {
    const series = this.#routeSeries(record.route?.name ?? NO_ROUTE);
    series.requests[codeIndex(record.status)]++;
    observeDuration(series, record.durationMs / 1000);
    const { attempts } = record;
    if (attempts.length > 1) series.retries += attempts.length - 1;
    // A try the client abandoned before an answer is not counted against the backend.
    for (const attempt of attempts) if (!attempt.clientGone) backendCounts(series, attempt.backend.name)[codeIndex(attempt.status)]++;
    if (record.refusedBy === 'rate_limit') series.rateLimited++;
    else if (record.refusedBy === 'firewall') series.firewallRefused++;
  };

  /**
   * Takes up a config (at start-up and after each reload): its routes' and backends' series start
   * at zero, so a rate is defined before the first request, and its backends' ejections are counted.
   */
  watch(config: CompiledConfig, loadedAt: number): void {
    this.#lastReloadSuccess.set(loadedAt / 1000);
    for (const route of config.routesInOrder) {
      const series = this.#routeSeries(route.name);
      for (const pool of route.pools) for (const member of pool.members) backendCounts(series, member.backend.name);
    }
    for (const backend of config.backends) {
      const { health, name } = backend;
      this.#ejections.inc({ backend: name }, 0);
      if (this.#watched.has(health)) continue;
      this.#watched.add(health);
      health.subscribe((event) => {
        if (event.kind === 'ejected') this.#ejections.inc({ backend: name });
      });
    }
  }

  /** Counts a reload's result. */
  reloaded(result: 'success' | 'failure'): void {
    this.#reloads.inc({ result });
  }

  /** The exposition, in the Prometheus text format; the store's metrics come or go with the `store` of the config in use. */
  text(): Promise<string> {
    this.#syncStore();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #routeSeries(route: string): RouteSeries {
    let series = this.#byRoute.get(route);
    if (series) return series;
    series = { requests: new Float64Array(CODES.length), duration: { buckets: new Float64Array(DURATION_BUCKETS.length), sum: 0, count: 0 }, retries: 0, rateLimited: 0, firewallRefused: 0, backends: new Map() };
    this.#byRoute.set(route, series);
    return series;
  }
}

/**
 * The shared store's metrics, written only while the config has a `store` (a balancer without one
 * has no store to call down; prom-client would write an unlabeled gauge even unset). The fallbacks
 * count from start-up, across reloads that change the store. Returns what puts them in the registry
 * or takes them out, to call before each scrape (a reload may have added or removed the store).
 * `switchyard_store_health_shared` is there only where health is shared (the process that probes:
 * the `--workers` primary, not its workers).
 */
function storeMetrics(registry: Registry, store: () => StoreStats | undefined): () => void {
  const up = new Gauge({
    name: 'switchyard_store_up',
    help: 'Whether the shared store (Redis) answers: 1 when rate limits are shared, 0 while they fall back to local buckets.',
    registers: [],
    // Under --workers the machine's value is 1 only while every worker reaches Redis.
    aggregator: 'min',
    collect() {
      const now = store();
      this.set(now?.up ? 1 : 0);
    },
  });
  const fallbacks = new Counter({
    name: 'switchyard_store_fallbacks_total',
    help: 'Rate-limited requests answered by the local buckets because the shared store could not, by reason: unreachable, timeout or error.',
    labelNames: ['reason'],
    registers: [],
    collect() {
      const now = store();
      this.reset();
      for (const reason of FALLBACK_REASONS) this.inc({ reason }, now?.fallbacks[reason] ?? 0);
    },
  });
  const healthShared = new Gauge({
    name: 'switchyard_store_health_shared',
    help: 'Whether health verdicts, ejections and drains are shared through the store (Redis): 1 while the channel is subscribed and publishing and reading work, 0 otherwise (Redis away, or its user lacks permission: see the log).',
    registers: [],
    aggregator: 'min',
    collect() {
      this.set(store()?.healthShared ? 1 : 0);
    },
  });
  const keep = (metric: Gauge | Counter<'reason'>, wanted: boolean) => {
    const { name } = metric as unknown as { name: string };
    const present = registry.getSingleMetric(name) !== undefined;
    if (wanted && !present) registry.registerMetric(metric as unknown as Metric);
    if (!wanted && present) registry.removeSingleMetric(name);
  };
  const sync = () => {
    const now = store();
    keep(up, now !== undefined);
    keep(fallbacks, now !== undefined);
    keep(healthShared, now?.healthShared !== undefined);
  };
  sync();
  return sync;
}

/** Upper bounds of `switchyard_request_duration_seconds`, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function observeDuration(series: RouteSeries, seconds: number): void {
  const { duration } = series;
  let bucket = 0;
  while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]) bucket++;
  if (bucket < DURATION_BUCKETS.length) duration.buckets[bucket]++;
  duration.sum += seconds;
  duration.count++;
}

/**
 * `switchyard_request_duration_seconds` by route, as prom-client's registry asks a metric for its
 * values: cumulative `_bucket` series with `le`, then `_sum` and `_count`, per route.
 */
function durationHistogram(byRoute: ReadonlyMap<string, RouteSeries>) {
  const name = 'switchyard_request_duration_seconds';
  return {
    name,
    help: 'Time from a request arriving to its response sent in full, by route.',
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
      for (const [route, { duration }] of byRoute) {
        let cumulative = 0;
        DURATION_BUCKETS.forEach((bound, i) => {
          cumulative += duration.buckets[i];
          values.push({ value: cumulative, labels: { le: bound, route }, metricName: `${name}_bucket` });
        });
        values.push({ value: duration.count, labels: { le: '+Inf', route }, metricName: `${name}_bucket` });
        values.push({ value: duration.sum, labels: { route }, metricName: `${name}_sum` });
        values.push({ value: duration.count, labels: { route }, metricName: `${name}_count` });
      }
      return { name, help: this.help, type: this.type, values, aggregator: this.aggregator };
    },
  };
}

/** A route's counts by backend and status class, made on first use (their series start at zero). */
function backendCounts(series: RouteSeries, backend: string): Float64Array {
  let counts = series.backends.get(backend);
  if (!counts) series.backends.set(backend, (counts = new Float64Array(CODES.length)));
  return counts;
}

/**
 * The process metrics of prom-client's default collector, fixed where they would mislead:
 * - its `nodejs_active_{handles,requests,resources}_total` are gauges whose names say counter,
 *   which `promtool check metrics` refuses; the same counts stay, by type, without `_total`;
 * - on Deno, reading `/proc/self` needs more than `--allow-read`, and prom-client then reports
 *   0 bytes of memory and 0 open files: the resident size comes from `process.memoryUsage()`
 *   instead, which works on both runtimes, and the figures only `/proc` has are left out.
 */
function processMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total', 'process_resident_memory_bytes']) registry.removeSingleMetric(name);
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  if (!procReadable()) for (const name of ['process_virtual_memory_bytes', 'process_heap_bytes', 'process_open_fds', 'process_max_fds']) registry.removeSingleMetric(name);
}

function procReadable(): boolean {
  try {
    readFileSync('/proc/self/status');
    return true;
  } catch {
    return false;
  }
}

/** What is counted of a route: plain numbers, read at each scrape. */
interface RouteSeries {
  readonly requests: Float64Array;
  /** Requests by the first duration bucket they fit (not cumulative), their sum and count. */
  readonly duration: { readonly buckets: Float64Array; sum: number; count: number };
  retries: number;
  rateLimited: number;
  firewallRefused: number;
  readonly backends: Map<string, Float64Array>;
}
