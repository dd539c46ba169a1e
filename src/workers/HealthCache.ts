import type { LoadedConfig } from '../core/config/loadConfig.ts';
import { Reachability } from './Reachability.ts';
import type { EjectionReport, IsolateReport, SharedStateObject, SharedView } from './stateMessages.ts';
import { TrafficTally } from './TrafficTally.ts';
import { withTimeout } from './withTimeout.ts';
import type { DurableObjectStub } from './workersTypes.ts';

/** How long a sync may take before the isolate gives up on it and goes by its own health. */
const SYNC_TIMEOUT_MS = 5_000;

/** Ejections kept for the next report while the object does not answer (those whose cool-down is over are dropped first). */
const MAX_PENDING_EJECTIONS = 100;

export interface HealthCacheOptions {
  /** How long the object's verdicts are used before the next request asks again (in the background). */
  readonly ttlMs: number;
  /**
   * How old the object's last round of probes may be before the isolate stops following it and
   * probes itself (its alarm has stopped firing); Infinity when no backend is actively checked.
   */
  readonly staleAfterMs: number;
  readonly log: (line: string) => void;
  /** Where the isolate counts what it reports: shared with its `DurableRateLimits`, which counts its fallbacks there. @default a tally of its own */
  readonly tally?: TrafficTally;
}

/**
 * One isolate's copy of the Worker's health, kept by the SWITCHYARD_STATE object: refreshed at
 * most once per `ttlMs`, in the background of a request (`waitUntil`), so no request waits for the
 * object. Each refresh takes the verdicts and ejections (adopted into this isolate's backends)
 * and hands over this isolate's own ejections and traffic. While the object answers, the isolate
 * runs no probes of its own (`following`); while it does not, or serves another config (a
 * deployment rolling out), the isolate probes and ejects alone, as without the binding.
 */
export class HealthCache {
  /** This isolate's requests (and rate limits' fallbacks) since its last report. */
  readonly tally: TrafficTally;
  #following = true;
  #syncedAt = -Infinity;
  #syncing: Promise<void> | undefined;
  /** A sync that waits out the TTL to report requests counted since the last one. */
  #flush: Promise<void> | undefined;
  #ejections: EjectionReport[] = [];
  /** An ejection decided since the last sync began: told at the next request, not a TTL later. */
  #ejectionNews = false;
  #otherConfigSaid = false;
  #staleSaid = false;
  readonly #config: LoadedConfig;
  readonly #hash: number;
  readonly #state: () => DurableObjectStub<SharedStateObject>;
  readonly #options: HealthCacheOptions;
  readonly #reach: Reachability;

  /** @param state the `health` object's stub, looked up per call */
  constructor(config: LoadedConfig, hash: number, state: () => DurableObjectStub<SharedStateObject>, options: HealthCacheOptions) {
    this.#config = config;
    this.#hash = hash;
    this.#state = state;
    this.#options = options;
    this.tally = options.tally ?? new TrafficTally();
    this.#reach = new Reachability('health', options.log);
    for (const { id, health } of config.backends) {
      health.subscribe((event) => {
        if (event.kind !== 'ejected' || event.adopted) return;
        this.#ejections.push({ backend: id, untilMs: health.ejectedUntil, cooldownMs: event.cooldownMs, ejections: health.ejections, reason: event.reason, streak: event.streak });
        // Told at the next request, not a TTL later: the other isolates should stop sending it requests now.
        this.#ejectionNews = true;
      });
    }
  }

  /** Whether the isolate goes by the object's verdicts (and so runs no probes of its own). */
  get following(): boolean {
    return this.#following;
  }

  /**
   * Starts a refresh when the copy is older than the TTL or an ejection was decided since the
   * last one began, else schedules one for when the TTL is over (once); resolves when it is done.
   * An ejection left over from a failed sync waits for the TTL like everything else, so an
   * object that fails is called at most once per TTL, not once per request.
   */
  syncIfStale(now: number): Promise<void> | undefined {
    if (this.#syncing) return undefined;
    const age = now - this.#syncedAt;
    if (age >= this.#options.ttlMs || this.#ejectionNews) return this.syncNow();
    if (this.#flush) return undefined;
    // The last requests of a burst are reported a TTL later, not whenever the next request comes.
    this.#flush = new Promise((resolve) => setTimeout(resolve, this.#options.ttlMs - age)).then(() => {
      this.#flush = undefined;
      return this.syncNow();
    });
    return this.#flush;
  }

  /** Starts a refresh now, unless one is under way (then that one's promise). */
  syncNow(): Promise<void> {
    if (this.#syncing) return this.#syncing;
    this.#syncedAt = Date.now();
    this.#ejectionNews = false;
    this.#syncing = this.#sync().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const report: IsolateReport = { config: this.#hash, ejections: inForce(this.#ejections, Date.now()), traffic: this.tally.take() };
    this.#ejections = [];
    let view: SharedView | undefined;
    try {
      view = await withTimeout(this.#state().sync(report), SYNC_TIMEOUT_MS);
    } catch (error) {
      this.#ejections = inForce([...report.ejections, ...this.#ejections], Date.now()).slice(-MAX_PENDING_EJECTIONS);
      this.tally.restore(report.traffic);
      this.#following = false;
      this.#reach.failed(error);
      return;
    }
    this.#reach.answered();
    if (view?.config !== this.#hash) {
      // An object on another config (or none) applied nothing of the report: its counts wait for the next.
      this.tally.restore(report.traffic);
      this.#following = false;
      if (!this.#otherConfigSaid) this.#options.log('switchyard: the SWITCHYARD_STATE Durable Object serves another config, or none (a deployment rolling out?); this isolate keeps its own health until it serves this one');
      this.#otherConfigSaid = true;
      return;
    }
    if (this.#otherConfigSaid) this.#options.log('switchyard: the SWITCHYARD_STATE Durable Object serves this config now; health: shared again');
    this.#otherConfigSaid = false;
    const now = Date.now();
    // Ejections come from isolates, so they hold whatever the age of the object's probes.
    this.#following = !this.#probesStale(view, now);
    this.#adopt(view, now);
  }

  /** Whether the view's probes are too old to follow, said once when it becomes so and once when it is over. */
  #probesStale(view: SharedView, now: number): boolean {
    const age = now - view.probedAt;
    const stale = age > this.#options.staleAfterMs;
    if (stale !== this.#staleSaid) {
      this.#staleSaid = stale;
      this.#options.log(
        stale
          ? `switchyard: the SWITCHYARD_STATE Durable Object's last probe round ended ${Math.round(age / 1000)} s ago; health: this isolate's own probes until it probes again`
          : "switchyard: the SWITCHYARD_STATE Durable Object probes again; health: shared again",
      );
    }
    return stale;
  }

  #adopt(view: SharedView, now: number): void {
    for (const verdict of view.backends) {
      const backend = this.#config.backends.find((each) => each.id === verdict.id);
      if (!backend) continue;
      if (this.#following && verdict.state !== 'unknown') backend.health.adoptVerdict(verdict.state, verdict.reason);
      if (verdict.ejectedUntil > now) backend.health.adoptEjection(verdict.ejectedUntil, verdict.cooldownMs, verdict.ejections, 'ejected in another isolate');
    }
  }
}

/** The ejections whose cool-down is not over at `now`: the others are news to nobody. */
function inForce(ejections: readonly EjectionReport[], now: number): EjectionReport[] {
  return ejections.filter((ejection) => ejection.untilMs > now);
}
