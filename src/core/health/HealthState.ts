import type { ActiveCheckSettings, PassiveHealthSettings } from './HealthSettings.ts';

/** What active checks last concluded. `unknown` until the first probe answers. */
export type ActiveState = 'unknown' | 'up' | 'down';

/** A change worth a log line. */
export type HealthEvent =
  | { readonly kind: 'up' | 'down'; readonly reason: string; readonly streak: number; readonly first: boolean; readonly adopted?: true }
  | { readonly kind: 'ejected'; readonly reason: string; readonly streak: number; readonly cooldownMs: number; readonly adopted?: true }
  | { readonly kind: 'returned'; readonly cooldownMs: number };

export interface HealthStateOptions {
  /** Active checks; undefined when switched off, so the backend is never taken down by probes. */
  readonly active?: ActiveCheckSettings;
  /** Passive ejection; undefined when switched off. */
  readonly passive?: PassiveHealthSettings;
  /** Clock read when a request's outcome is recorded, to start and end cool-downs. @default Date.now */
  readonly now?: () => number;
}

/**
 * One backend's health, shared by every route that names it: the active checks' verdict with
 * rise/fall thresholds, and passive ejection with a cool-down that doubles on repeats.
 * A backend may be picked while it is not `down` and not ejected. Reads change nothing and take
 * the time as an argument; an ejection ends only through `endEjection` (run by the pool before each
 * pick) or when the next outcome is recorded.
 */
export class HealthState {
  readonly active: ActiveCheckSettings | undefined;
  readonly passive: PassiveHealthSettings | undefined;
  #state: ActiveState = 'unknown';
  /** Probes in a row that disagree with the current state. */
  #probeStreak = 0;
  #failures = 0;
  #ejectedUntil = 0;
  /** When the latest ejection ended or ends; kept after it is over. */
  #ejectedUntilLast = 0;
  #cooldownMs = 0;
  #ejections = 0;
  /** After an ejection ends, one more failure ejects again at once (half-open, as a circuit breaker). */
  #probation = false;
  readonly #now: () => number;
  readonly #listeners = new Set<(event: HealthEvent) => void>();

  constructor(options: HealthStateOptions = {}) {
    this.active = options.active;
    this.passive = options.passive;
    this.#now = options.now ?? Date.now;
  }

  get state(): ActiveState {
    return this.#state;
  }

  /** Not taken down by active checks (an `unknown` backend counts as up). */
  get isUp(): boolean {
    return this.#state !== 'down';
  }

  /** Whether passive health has the backend in its cool-down at `now` (ms since the epoch). Changes nothing. */
  isEjected(now: number): boolean {
    return now < this.#ejectedUntil;
  }

  /**
   * Ends the ejection if its cool-down is over at `now`, telling subscribers the backend is back
   * (`returned`); does nothing otherwise. The pool runs it before each pick, so the return is
   * logged when the backend can be picked again.
   * @returns whether an ejection ended
   */
  endEjection(now: number): boolean {
    if (this.#ejectedUntil === 0 || now < this.#ejectedUntil) return false;
    this.#ejectedUntil = 0;
    this.#emit({ kind: 'returned', cooldownMs: this.#cooldownMs });
    return true;
  }

  /** When the current ejection ends, in ms since the epoch; 0 when there is none. */
  get ejectedUntil(): number {
    return this.#ejectedUntil;
  }

  /** How long the latest ejection's cool-down was, in ms (0 before any). */
  get cooldownMs(): number {
    return this.#cooldownMs;
  }

  /**
   * Takes a verdict reached elsewhere (another process's prober, `--workers`) as its own: the
   * state changes at once, with no threshold, and subscribers hear it as `adopted`.
   */
  adoptVerdict(state: 'up' | 'down', reason: string): void {
    if (state === this.#state) return;
    const first = this.#state === 'unknown';
    this.#state = state;
    this.#probeStreak = 0;
    this.#emit({ kind: state, reason, streak: 0, first, adopted: true });
  }

  /**
   * Takes an ejection decided elsewhere (another worker saw the failures): the backend is out
   * until `untilMs`, on probation after, as if it had ejected it itself. An ejection that ends no
   * later than the one in force changes nothing.
   * @param streak the failed requests that led to it, for the log line
   */
  adoptEjection(untilMs: number, cooldownMs: number, reason: string, streak = 0): void {
    if (untilMs <= this.#ejectedUntil || untilMs <= this.#now()) return;
    this.#ejectedUntil = this.#ejectedUntilLast = untilMs;
    this.#cooldownMs = cooldownMs;
    this.#failures = 0;
    this.#probation = true;
    this.#emit({ kind: 'ejected', reason, streak, cooldownMs, adopted: true });
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  subscribe(listener: (event: HealthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records an active probe's result. The first result decides at once; later ones need rise/fall in a row. */
  recordProbe(passed: boolean, reason: string): void {
    const settings = this.active;
    if (!settings) return;
    const first = this.#state === 'unknown';
    const agrees = first ? false : passed === (this.#state === 'up');
    if (agrees) {
      this.#probeStreak = 0;
      return;
    }
    this.#probeStreak++;
    const needed = first ? 1 : passed ? settings.healthyThreshold : settings.unhealthyThreshold;
    if (this.#probeStreak < needed) return;
    const streak = this.#probeStreak;
    this.#probeStreak = 0;
    this.#state = passed ? 'up' : 'down';
    this.#emit({ kind: this.#state, reason, streak, first });
  }

  /** Records a real request the backend answered well. */
  recordSuccess(): void {
    const now = this.#now();
    this.endEjection(now);
    // A late answer to a request sent before the ejection (or one sent in panic mode) proves
    // little about a backend that fails often: the cool-down runs its course either way.
    if (this.isEjected(now)) return;
    this.#failures = 0;
    this.#probation = false;
  }

  /** Records a real request the backend failed (connect error, timeout, reset, or a configured status). */
  recordFailure(reason: string): void {
    const settings = this.passive;
    if (!settings) return;
    const now = this.#now();
    this.endEjection(now);
    if (this.isEjected(now)) return;
    this.#failures++;
    if (this.#failures < settings.failures && !this.#probation) return;
    // A backend that stayed clean for the longest cool-down starts again from the shortest one.
    if (this.#ejections > 0 && now - this.#ejectedUntilLast >= settings.maxCooldownMs) this.#ejections = 0;
    this.#ejections++;
    this.#cooldownMs = Math.min(settings.cooldownMs * 2 ** (this.#ejections - 1), settings.maxCooldownMs);
    this.#ejectedUntil = this.#ejectedUntilLast = now + this.#cooldownMs;
    const streak = this.#failures;
    this.#failures = 0;
    this.#probation = true;
    this.#emit({ kind: 'ejected', reason, streak, cooldownMs: this.#cooldownMs });
  }

  #emit(event: HealthEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
