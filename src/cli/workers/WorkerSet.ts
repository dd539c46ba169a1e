import cluster, { type Worker } from 'node:cluster';
import type { ToPrimary, ToWorker } from './messages.ts';

export interface WorkerSetOptions {
  readonly count: number;
  readonly log: (line: string) => void;
  /** A worker's message other than `metrics` (answered here). */
  readonly received: (message: ToPrimary, worker: Worker, slot: number) => void;
  /** Told of each restart, for the metric. */
  readonly restarted?: () => void;
  /** Told when a worker has exited (its id), so its last counts are kept. */
  readonly exited?: (id: number) => void;
}

/** Exits within this window that count as a crash loop. */
const LOOP_WINDOW_MS = 10_000;
const LOOP_EXITS = 5;
const MAX_DELAY_MS = 30_000;

/**
 * The workers of `--workers`, forked with node:cluster (round-robin: the primary accepts each
 * connection and hands it to the next worker), numbered 1 to N; a worker that exits when it was
 * not told to is logged and replaced under the same number, at once, or after a delay doubling
 * up to 30 s when five have exited within 10 s.
 */
export class WorkerSet {
  readonly #options: WorkerSetOptions;
  readonly #workers = new Map<number, Worker>();
  readonly #exits: number[] = [];
  readonly #answers = new Map<number, (worker: Worker, json: unknown[]) => void>();
  #nextAsk = 0;
  #delayMs = 0;
  #stopping = false;

  constructor(options: WorkerSetOptions) {
    this.#options = options;
    cluster.setupPrimary({ silent: false });
  }

  /** Forks every worker. */
  start(): void {
    for (let slot = 1; slot <= this.#options.count; slot++) this.#fork(slot);
  }

  /** Sends a message to every worker, but `except`. */
  broadcast(message: ToWorker, except?: Worker): void {
    for (const worker of this.#workers.values()) if (worker !== except && worker.isConnected()) worker.send(message);
  }

  /** Each worker's `getMetricsAsJSON()` by worker id, from those that answer within `timeoutMs`. */
  metrics(timeoutMs = 1000): Promise<ReadonlyMap<number, unknown[]>> {
    const asked = [...this.#workers.values()].filter((worker) => worker.isConnected());
    const answers = new Map<number, unknown[]>();
    if (asked.length === 0) return Promise.resolve(answers);
    const id = ++this.#nextAsk;
    return new Promise((resolve) => {
      const done = () => (clearTimeout(timer), this.#answers.delete(id), resolve(answers));
      const timer = setTimeout(done, timeoutMs);
      this.#answers.set(id, (worker, json) => {
        answers.set(worker.id, json);
        if (answers.size === asked.length) done();
      });
      for (const worker of asked) worker.send({ type: 'metrics?', id } satisfies ToWorker);
    });
  }

  /** Tells every worker to drain and stop; resolves once all have exited, killing those still there after `drainMs` and 5 s more. */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    const exited = [...this.#workers.values()].map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once('exit', () => resolve()))));
    this.broadcast({ type: 'stop', drainMs });
    const late = setTimeout(() => this.kill(), drainMs + 5000);
    await Promise.all(exited);
    clearTimeout(late);
  }

  /** Kills every worker at once (a second signal: in-flight requests are cut off). */
  kill(): void {
    this.#stopping = true;
    for (const worker of this.#workers.values()) worker.process.kill('SIGKILL');
  }

  #fork(slot: number): void {
    const worker = cluster.fork({ SWITCHYARD_WORKER: String(slot) });
    this.#workers.set(slot, worker);
    const pid = worker.process.pid;
    worker.on('message', (message: ToPrimary) => {
      if (message?.type === 'metrics') this.#answers.get(message.id)?.(worker, message.json);
      else this.#options.received(message, worker, slot);
    });
    worker.on('exit', (code, signal) => {
      if (this.#workers.get(slot) === worker) this.#workers.delete(slot);
      this.#options.exited?.(worker.id);
      if (this.#stopping) return;
      const delay = this.#restartDelay();
      this.#options.log(`switchyard: worker ${slot} (pid ${pid}) exited (${signal ?? `code ${code}`}); restarting it${delay ? ` in ${delay / 1000} s` : ''}`);
      this.#options.restarted?.();
      setTimeout(() => this.#stopping || this.#fork(slot), delay);
    });
  }

  #restartDelay(): number {
    const now = Date.now();
    this.#exits.push(now);
    while (this.#exits.length > 0 && this.#exits[0] < now - LOOP_WINDOW_MS) this.#exits.shift();
    this.#delayMs = this.#exits.length < LOOP_EXITS ? 0 : Math.min(MAX_DELAY_MS, Math.max(1000, this.#delayMs * 2));
    return this.#delayMs;
  }
}
