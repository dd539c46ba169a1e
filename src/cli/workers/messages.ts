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
  /** Ejections in a row so far, which the next cool-down doubles from. */
  readonly ejections: number;
  readonly draining: boolean;
  readonly weight: number | undefined;
}

/** One worker's counts for the machine's `/metrics` and status, in one answer. */
export interface WorkerCounts {
  /** Its registry in the Prometheus text format. */
  readonly text: string;
  /** Each metric whose series are not summed across processes, and how they are merged (prom-client's `aggregator`). */
  readonly aggregators: Readonly<Record<string, string>>;
  /** Requests in flight, by backend id. */
  readonly inFlight: Readonly<Record<string, number>>;
  /** The last minute's requests and errors, by backend id. */
  readonly lastMinute: Readonly<Record<string, readonly [number, number]>>;
}

/** Primary to worker. */
export type ToWorker =
  /** At start and after each reload: the config's text, which the primary has checked, and the backends' state under it. */
  | { readonly type: 'config'; readonly text: string; readonly backends: readonly BackendView[]; readonly monitor: boolean }
  /** A backend changed: a verdict, an ejection elsewhere, a drain or a weight. */
  | { readonly type: 'backend'; readonly backend: BackendView }
  /** The worker's counts, for a scrape or a status of the admin listener. */
  | { readonly type: 'counts?'; readonly id: number }
  /** Stop accepting, finish in-flight requests (up to `drainMs`), exit 0. */
  | { readonly type: 'stop'; readonly drainMs: number }
  /** A second stop signal: write the access log lines still waiting and exit 1 at once. */
  | { readonly type: 'stop-now' };

/** Worker to primary. */
export type ToPrimary =
  /** Listening for messages: the primary answers with `config`. */
  | { readonly type: 'hello' }
  /** Serving, on these URLs. */
  | { readonly type: 'ready'; readonly urls: readonly string[] }
  /** Could not start (config or listen error), in the words `serve` prints. */
  | { readonly type: 'failed'; readonly message: string }
  /** Could not take a reloaded config; it serves on with the one it has until its replacement is ready. */
  | { readonly type: 'reload-failed' }
  /** Passive health ejected a backend in this worker. */
  | { readonly type: 'ejected'; readonly id: string; readonly untilMs: number; readonly cooldownMs: number; readonly ejections: number; readonly reason: string; readonly streak: number }
  /** The answer to `counts?`. */
  | { readonly type: 'counts'; readonly id: number; readonly counts: WorkerCounts };
