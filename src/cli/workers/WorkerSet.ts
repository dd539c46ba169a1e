import cluster, { type Worker } from 'node:cluster';
import type { ToPrimary, ToWorker, WorkerCounts } from './messages.ts';

export interface WorkerSetOptions {
  readonly count: number;
  readonly log: (line: string) => void;
  /** A worker's message, but `counts` (answered here); `hello` comes once it can take messages, `ready` once it serves. */
  readonly received: (message: ToPrimary, worker: Worker, slot: number) => void;
  /** How long a worker replaced while it serves has for its in-flight requests. */
  readonly drainMs: number;
  /** Told when a worker has exited (its id), so its last counts are kept, and whether it had been ready. */
  readonly exited?: (id: number, slot: number, how: string, wasReady: boolean) => void;
  /** Told of each restart, for the metric. */
  readonly restarted?: () => void;
  /** Starts a worker process with these environment variables added. @default node:cluster's `fork` */
  readonly fork?: (env: Record<string, string>) => Worker;
}

/** What the set knows of one worker process. */
interface Member {
  readonly worker: Worker;
  readonly slot: number;
  /** Said `hello`: its message handler is in place, so messages sent to it are not lost. */
  greeted: boolean;
  ready: boolean;
  /** Replaced by a newer worker in its slot: told to stop once that one is ready. */
  superseded: boolean;
  stopping: boolean;
}

/** Exits within this window that count as a crash loop. */
const LOOP_WINDOW_MS = 10_000;
const LOOP_EXITS = 5;
const MAX_DELAY_MS = 30_000;
/** How long workers told to stop at once (a second signal) have to write their logs before they are killed. */
const STOP_NOW_GRACE_MS = 1000;

/**
 * The workers of `--workers`, forked with node:cluster (round-robin: the primary accepts each
 * connection and hands it to the next worker), numbered 1 to N; a worker that exits when it was
 * not told to is logged and replaced under the same number, at once, or after a delay doubling
 * up to 30 s when five have exited within 10 s. Messages go only to workers that have said
 * `hello`; one that has not yet gets the state in the answer to its `hello`.
 */
export class WorkerSet {
  readonly #options: WorkerSetOptions;
  readonly #members = new Map<Worker, Member>();
  readonly #exits: number[] = [];
  readonly #answers = new Map<number, (worker: Worker, counts: WorkerCounts) => void>();
  #nextAsk = 0;
  #delayMs = 0;
  #stopping = false;

  readonly #forkProcess: (env: Record<string, string>) => Worker;

  constructor(options: WorkerSetOptions) {
    this.#options = options;
    if (!options.fork) cluster.setupPrimary({ silent: false });
    this.#forkProcess = options.fork ?? ((env) => cluster.fork(env));
  }

  /** Forks every worker. */
  start(): void {
    for (let slot = 1; slot <= this.#options.count; slot++) this.#fork(slot);
  }

  /** Sends a message to every worker that can take it, but `except`. */
  broadcast(message: ToWorker, except?: Worker): void {
    for (const member of this.#members.values()) if (member.worker !== except) this.#send(member, message);
  }

  /** Each worker's counts by worker id, from those that answer within `timeoutMs` and are still there. */
  counts(timeoutMs = 1000): Promise<ReadonlyMap<number, WorkerCounts>> {
    const asked = [...this.#members.values()].filter((member) => member.greeted && member.worker.isConnected());
    const answers = new Map<number, WorkerCounts>();
    if (asked.length === 0) return Promise.resolve(answers);
    const id = ++this.#nextAsk;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#answers.delete(id);
        // One that exited meanwhile has had its counts kept already (`exited`).
        for (const [workerId] of answers) if (![...this.#members.keys()].some((worker) => worker.id === workerId)) answers.delete(workerId);
        resolve(answers);
      };
      const timer = setTimeout(done, timeoutMs);
      this.#answers.set(id, (worker, counts) => {
        answers.set(worker.id, counts);
        if (answers.size === asked.length) done();
      });
      for (const member of asked) this.#send(member, { type: 'counts?', id });
    });
  }

  /**
   * Starts a new worker in the slot of one that cannot go on (it could not take a reload); the old
   * one serves until the new one is ready, then drains.
   */
  replace(worker: Worker): void {
    const member = this.#members.get(worker);
    if (!member || member.superseded || this.#stopping) return;
    member.superseded = true;
    this.#fork(member.slot);
  }

  /** Tells every worker to drain and stop; resolves once all have exited, killing those still there after `drainMs` and 5 s more. */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    const exited = [...this.#members.values()].map((member) => new Promise<void>((resolve) => (member.worker.isDead() ? resolve() : member.worker.once('exit', () => resolve()))));
    // Sent to a worker that has not said hello yet too: it stops before it serves.
    for (const member of this.#members.values()) this.#stopMember(member, drainMs);
    const late = setTimeout(() => this.kill(), drainMs + 5000);
    await Promise.all(exited);
    clearTimeout(late);
  }

  /** A second signal: every worker writes its log and exits at once; those still there after a second are killed. */
  async stopNow(): Promise<void> {
    this.#stopping = true;
    const exited = [...this.#members.values()].map((member) => new Promise<void>((resolve) => (member.worker.isDead() ? resolve() : member.worker.once('exit', () => resolve()))));
    for (const member of this.#members.values()) if (member.worker.isConnected()) member.worker.send({ type: 'stop-now' } satisfies ToWorker);
    const late = setTimeout(() => this.kill(), STOP_NOW_GRACE_MS);
    await Promise.all(exited);
    clearTimeout(late);
  }

  /** Kills every worker at once. */
  kill(): void {
    this.#stopping = true;
    for (const member of this.#members.values()) member.worker.process.kill('SIGKILL');
  }

  #send(member: Member, message: ToWorker): void {
    if (member.greeted && member.worker.isConnected()) member.worker.send(message);
  }

  #stopMember(member: Member, drainMs: number): void {
    if (member.stopping || !member.worker.isConnected()) return;
    // One that has not said hello may not be listening yet and lose it: its hello asks again.
    if (member.greeted) member.stopping = true;
    member.worker.send({ type: 'stop', drainMs } satisfies ToWorker);
  }

  #fork(slot: number): void {
    const worker = this.#forkProcess({ SWITCHYARD_WORKER: String(slot) });
    const member: Member = { worker, slot, greeted: false, ready: false, superseded: false, stopping: false };
    this.#members.set(worker, member);
    const pid = worker.process.pid;
    worker.on('message', (message: ToPrimary) => {
      if (message?.type === 'counts') return this.#answers.get(message.id)?.(worker, message.counts);
      if (message?.type === 'hello') {
        member.greeted = true;
        // Forked before a stop, and asked for its config after it: it stops instead.
        if (this.#stopping) return this.#stopMember(member, this.#options.drainMs);
      }
      if (message?.type === 'ready') {
        member.ready = true;
        for (const other of this.#members.values()) if (other.slot === slot && other.superseded) this.#stopMember(other, this.#options.drainMs);
      }
      this.#options.received(message, worker, slot);
    });
    worker.on('exit', (code, signal) => {
      this.#members.delete(worker);
      const how = signal ?? `code ${code}`;
      this.#options.exited?.(worker.id, slot, how, member.ready);
      if (this.#stopping || member.stopping || member.superseded) return;
      const delay = this.#restartDelay();
      this.#options.log(`switchyard: worker ${slot} (pid ${pid}) exited (${how}); restarting it${delay ? ` in ${delay / 1000} s` : ''}`);
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
