import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PasswordChecks } from '../core/gates/PasswordChecks.ts';
import type { PasswordHash } from '../core/gates/passwordHash.ts';
import type { CheckMessage, VerdictMessage } from './passwordCheckThread.ts';

/** The thread's module beside this one: `.js` when built, `.ts` where Deno runs the sources. */
const THREAD_MODULE = new URL(`./passwordCheckThread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** Checks that may wait for a thread, per thread: at bcrypt 10 a thread gets through one in 50-100 ms. */
const WAITING_PER_THREAD = 8;

interface Job {
  readonly message: CheckMessage;
  readonly settle: (verdict: VerdictMessage) => void;
}

interface Thread {
  readonly worker: Worker;
  job?: Job;
}

/**
 * `basic_auth`'s password checks on Node and Deno: a few worker threads, so a check never holds
 * the event loop (bcryptjs's async form would, for 100 ms slices). Threads start on the first check
 * and do not keep the process alive. Checks wait in one queue, in order of arrival; past `max`
 * checks in hand (running or waiting) a check is refused unchecked, and `basic_auth` answers 503.
 * One instance serves the process, across reloads, so a reload does not double the bound.
 */
export class ThreadedPasswordChecks implements PasswordChecks {
  readonly max: number;
  readonly #threads: Thread[] = [];
  readonly #waiting: Job[] = [];
  #inProgress = 0;
  #nextId = 0;

  /**
   * @param threads at most (default: the cores but one, 1-4, so the event loop keeps a core)
   * @param max checks in hand at most (default 8 per thread)
   */
  constructor(
    readonly threads = Math.min(4, Math.max(1, availableParallelism() - 1)),
    max = threads * WAITING_PER_THREAD,
  ) {
    this.max = max;
  }

  get inProgress(): number {
    return this.#inProgress;
  }

  tryCheck(password: string, hash: PasswordHash): Promise<boolean> | undefined {
    if (this.#inProgress >= this.max) return undefined;
    this.#inProgress++;
    return new Promise<boolean>((resolve, reject) => {
      const settle = (verdict: VerdictMessage) => {
        this.#inProgress--;
        if ('error' in verdict) reject(new Error(verdict.error));
        else resolve(verdict.matches);
      };
      this.#waiting.push({ message: { id: this.#nextId++, password, hash }, settle });
      this.#dispatch();
    });
  }

  /** Stops the threads; checks in hand fail. */
  async close(): Promise<void> {
    for (const job of this.#waiting.splice(0)) job.settle({ id: job.message.id, error: 'the password checks were stopped' });
    await Promise.all(this.#threads.map((thread) => thread.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const thread = this.#threads.find((candidate) => !candidate.job) ?? (this.#threads.length < this.threads ? this.#start() : undefined);
      if (!thread) return;
      thread.job = this.#waiting.shift()!;
      thread.worker.postMessage(thread.job.message);
    }
  }

  #start(): Thread {
    const worker = new Worker(THREAD_MODULE);
    worker.unref();
    const thread: Thread = { worker };
    worker.on('message', (verdict: VerdictMessage) => {
      const job = thread.job;
      thread.job = undefined;
      job?.settle(verdict);
      this.#dispatch();
    });
    // A thread that fails (out of memory, terminated) fails its check; the next check starts another.
    const lost = (why: string) => {
      const index = this.#threads.indexOf(thread);
      if (index === -1) return;
      this.#threads.splice(index, 1);
      const job = thread.job;
      thread.job = undefined;
      job?.settle({ id: job.message.id, error: why });
      this.#dispatch();
    };
    worker.on('error', (error) => lost(`the password-check thread failed: ${error.message}`));
    worker.on('exit', (code) => lost(`the password-check thread exited (${code})`));
    this.#threads.push(thread);
    return thread;
  }
}
