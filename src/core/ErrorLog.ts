/** What the balancer was asked when it failed, as much as it knew: an `Exchange` is one. */
export interface FailedRequest {
  readonly method: string;
  /** The normalised path, or the path as it came when it got no further; never the query. */
  readonly path: string;
  /** The route that took the request, when one did. */
  readonly route?: { readonly name: string };
}

/** The timer functions the log needs, to count what it held back once a window is over. */
export interface LogTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ErrorLogOptions {
  /** The clock, in milliseconds: a monotonic one, so a wall-clock step cannot hold a window open. @default performance.now */
  readonly now?: () => number;
  /** @default globalThis.setTimeout and clearTimeout, not keeping the process alive */
  readonly timers?: LogTimers;
  /** Lines written per cause in one window; the rest are counted. @default 5 */
  readonly linesPerCause?: number;
  /** @default 1000 */
  readonly windowMs?: number;
  /** Causes counted at once; past them the oldest is summed up early. @default 1000 */
  readonly maxCauses?: number;
}

/** A path longer than this is cut in the log: a 16 KiB path would make every line 16 KiB. */
const MAX_PATH = 200;

interface Window {
  readonly start: number;
  lines: number;
  held: number;
}

/**
 * The balancer's error log: one line for each 5xx it answers itself, saying why, as
 * `switchyard: 502 GET /x on route www.mango.com: backend https://127.0.0.1:9443: tls: self-signed
 * certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`. During an outage every request fails the same way:
 * a cause (the same status, route and cause) writes at most `linesPerCause` lines a window, and
 * once that window is over one line counts the rest, `switchyard: 502 on route www.mango.com:
 * backend ...: ... and 42 more like it`, so the log says what is wrong without drowning in it.
 * @example
 * const errorLog = new ErrorLog((line) => console.error(line));
 * errorLog.failed(503, exchange, 'no healthy backend: all 3 down by health checks');
 */
export class ErrorLog {
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #timers: LogTimers;
  readonly #linesPerCause: number;
  readonly #windowMs: number;
  readonly #maxCauses: number;
  /** Open windows by cause, oldest first: a window is opened when its cause comes back after its last one closed. */
  readonly #windows = new Map<string, Window>();
  #timer: unknown;

  constructor(log: (line: string) => void, options: ErrorLogOptions = {}) {
    this.#log = log;
    this.#now = options.now ?? (() => performance.now());
    this.#timers = options.timers ?? unrefTimers;
    this.#linesPerCause = options.linesPerCause ?? 5;
    this.#windowMs = options.windowMs ?? 1000;
    this.#maxCauses = options.maxCauses ?? 1000;
  }

  /**
   * Logs a 5xx the balancer answered itself, unless its cause has had its lines this window.
   * @param cause one line: what failed and why, such as `backend http://10.0.0.1:80: connect ECONNREFUSED 10.0.0.1:80`
   * @param detail more lines after it (a stack trace), not part of the cause
   */
  failed(status: number, request: FailedRequest, cause: string, detail?: string): void {
    const now = this.#now();
    this.#close(now);
    const where = request.route ? ` on route ${request.route.name}` : '';
    const key = `${status}${where}: ${cause}`;
    let window = this.#windows.get(key);
    if (!window) {
      if (this.#windows.size >= this.#maxCauses) this.#sumUp(this.#windows.keys().next().value!);
      window = { start: now, lines: 0, held: 0 };
      this.#windows.set(key, window);
    }
    if (window.lines < this.#linesPerCause) {
      window.lines++;
      const path = request.path.length > MAX_PATH ? `${request.path.slice(0, MAX_PATH)}...` : request.path;
      this.#log(`switchyard: ${status} ${request.method} ${path}${where}: ${cause}${detail ? `\n${detail}` : ''}`);
      return;
    }
    window.held++;
    this.#schedule(now);
  }

  /** Logs an internal error (a bug, or a rewrite that made no path): a 500, with the stack after the line. */
  internalError(request: FailedRequest, error: unknown): void {
    const text = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
    const stack = error instanceof Error ? error.stack?.split('\n').filter((line) => /^\s+at /.test(line)).join('\n') : undefined;
    this.failed(500, request, `internal error: ${text}`, stack);
  }

  /** Counts what every window held back now, without waiting for it to close (at shutdown). */
  flush(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const key of [...this.#windows.keys()]) this.#sumUp(key);
  }

  /** Closes the windows that are over, oldest first (the map's order), summing up each. */
  #close(now: number): void {
    for (const [key, window] of this.#windows) {
      if (now - window.start < this.#windowMs) break;
      this.#sumUp(key);
    }
  }

  /** Sets a timer for the end of the oldest window that holds lines back, unless one is set. */
  #schedule(now: number): void {
    if (this.#timer !== undefined) return;
    for (const window of this.#windows.values()) {
      if (window.held === 0) continue;
      this.#timer = this.#timers.setTimeout(() => {
        this.#timer = undefined;
        const at = this.#now();
        this.#close(at);
        this.#schedule(at);
      }, Math.max(0, window.start + this.#windowMs - now));
      return;
    }
  }

  #sumUp(key: string): void {
    const held = this.#windows.get(key)?.held ?? 0;
    this.#windows.delete(key);
    if (held > 0) this.#log(`switchyard: ${key} ... and ${held} more like it`);
  }
}

/** The global timers, unref'd where the runtime can, so a pending count never keeps a process alive. */
const unrefTimers: LogTimers = {
  setTimeout(callback, ms) {
    const handle = globalThis.setTimeout(callback, ms) as unknown as { unref?: () => void };
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};
