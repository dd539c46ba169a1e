import { MinuteWindow, type MinuteTotals } from '../core/observe/MinuteWindow.ts';
import type { RequestRecord } from '../core/observe/RequestRecord.ts';
import type { Backend } from '../core/pool/Backend.ts';
import type { TrafficView } from './statusReport.ts';

/**
 * Each backend's requests and errors over the last minute, for the status page: a try counts as an
 * error when the backend failed it or answered 5xx. Kept by backend id, so a reload that keeps a
 * backend keeps its minute.
 */
export class BackendTraffic implements TrafficView {
  readonly #windows = new Map<string, MinuteWindow>();
  readonly #now: () => number;
  /** The backends of the config in use; undefined until `keepOnly` first says. */
  #known: ReadonlySet<string> | undefined;

  /** @param now a clock in milliseconds that only goes forward. @default performance.now */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  readonly observe = (record: RequestRecord): void => {
    if (record.attempts.length === 0) return;
    const now = this.#now();
    for (const { backend, status, clientGone } of record.attempts) {
      // A request of the config before a reload, to a backend gone since, or one the client
      // abandoned, which says nothing of the backend.
      if (clientGone || (this.#known && !this.#known.has(backend.id))) continue;
      let window = this.#windows.get(backend.id);
      if (!window) this.#windows.set(backend.id, (window = new MinuteWindow()));
      window.add(status === undefined || status >= 500, now);
    }
  };

  /**
   * Adds tries counted elsewhere to a backend's current second: an isolate's report to the
   * Worker's Durable Object, which sees no request itself.
   */
  add(id: string, tries: number, errors: number): void {
    if (this.#known && !this.#known.has(id)) return;
    const now = this.#now();
    let window = this.#windows.get(id);
    if (!window) this.#windows.set(id, (window = new MinuteWindow()));
    window.addCounts(tries, errors, now);
  }

  /** The last minute of a backend, by id. */
  lastMinute(id: string): MinuteTotals {
    return this.#windows.get(id)?.totals(this.#now()) ?? { requests: 0, errors: 0 };
  }

  /** A backend's requests in flight in this process. */
  inFlight(backend: Backend): number {
    return backend.inFlight;
  }

  /** Forgets backends no config names any more. */
  keepOnly(ids: ReadonlySet<string>): void {
    this.#known = ids;
    for (const id of this.#windows.keys()) if (!ids.has(id)) this.#windows.delete(id);
  }
}
