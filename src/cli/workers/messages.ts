// The messages the primary process and its workers exchange over the cluster's IPC channel
// (JSON, so plain data only). Each side checks `type` and ignores what it does not know.

/** What a worker must know of one backend, as the primary sees it: health, ejection, run-time changes. */
export interface BackendView {
  readonly id: string;
  readonly state: 'unknown' | 'up' | 'down';
  /** Why the state is what it is (the last probe's reason), for log lines. */
  readonly reason: string;
  /** When an ejection in force ends, in ms since the epoch; 0 for none. */
  readonly ejectedUntil: number;
  readonly cooldownMs: number;
  readonly draining: boolean;
  readonly weight: number | undefined;
}

/** Primary to worker. */
export type ToWorker =
  /** At start and after each reload: the config's text, which the primary has checked, and the backends' state under it. */
  | { readonly type: 'config'; readonly text: string; readonly backends: readonly BackendView[]; readonly monitor: boolean }
  /** A backend changed: a verdict, an ejection elsewhere, a drain or a weight. */
  | { readonly type: 'backend'; readonly backend: BackendView }
  /** The worker's metrics, for a scrape of the admin listener. */
  | { readonly type: 'metrics?'; readonly id: number }
  /** Stop accepting, finish in-flight requests (up to `drainMs`), exit 0. */
  | { readonly type: 'stop'; readonly drainMs: number };

/** Worker to primary. */
export type ToPrimary =
  /** Listening for messages: the primary answers with `config`. */
  | { readonly type: 'hello' }
  /** Serving, on these URLs. */
  | { readonly type: 'ready'; readonly urls: readonly string[] }
  /** Could not start (config or listen error), in the words `serve` prints. */
  | { readonly type: 'failed'; readonly message: string }
  /** Passive health ejected a backend in this worker. */
  | { readonly type: 'ejected'; readonly id: string; readonly untilMs: number; readonly cooldownMs: number; readonly reason: string; readonly streak: number }
  /** The answer to `metrics?`: prom-client's `getMetricsAsJSON()`. */
  | { readonly type: 'metrics'; readonly id: number; readonly json: unknown[] };
