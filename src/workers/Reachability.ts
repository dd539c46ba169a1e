/**
 * Whether the Durable Object answers, as an isolate logs it: one line when it stops answering
 * (with the first error) and one when it answers again, never a line per request.
 */
export class Reachability {
  #down = false;
  readonly #subject: string;
  readonly #log: (line: string) => void;

  /** @param subject what is shared through the object, `health` or `rate limits`, for the log lines */
  constructor(subject: string, log: (line: string) => void) {
    this.#subject = subject;
    this.#log = log;
  }

  get down(): boolean {
    return this.#down;
  }

  failed(error: unknown): void {
    if (this.#down) return;
    this.#down = true;
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    this.#log(`switchyard: the SWITCHYARD_STATE Durable Object does not answer (${reason}); ${this.#subject}: this isolate's own until it does`);
  }

  answered(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log(`switchyard: the SWITCHYARD_STATE Durable Object answers again; ${this.#subject}: shared again`);
  }
}
