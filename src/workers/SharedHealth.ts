import { BackendTraffic } from '../admin/BackendTraffic.ts';
import { CODES } from '../admin/metricLabels.ts';
import type { StatusSource } from '../admin/statusReport.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';
import type { HealthState } from '../core/health/HealthState.ts';
import { startHealthChecks, type HealthChecks } from '../core/health/startHealthChecks.ts';
import type { FallbackReason } from '../core/RateLimitStore.ts';
import type { Upstream } from '../core/Upstream.ts';
import { probeSchedule, type ProbeSchedule } from './probeSchedule.ts';
import type { IsolateReport, SharedView } from './stateMessages.ts';
import { bump } from './TrafficTally.ts';

/**
 * The whole Worker's health, as the SWITCHYARD_STATE Durable Object keeps it: the one prober of
 * every backend (rounds run by the object's alarm), the passive ejections isolates report, and
 * the traffic they count, for `/metrics` and `/status`. Lives as long as the object stays in
 * memory; an object started afresh probes again at once and counts from zero.
 */
export class SharedHealth {
  readonly config: LoadedConfig;
  /** Which config this is (`configHash`): reports of another config (a deployment rolling out) are not mixed in. */
  readonly hash: number;
  readonly loadedAt = Date.now();
  /** The alarm's rounds; undefined when no backend is actively checked. */
  readonly schedule: ProbeSchedule | undefined;
  /** When the last round of probes ended (until the first, when this object started): isolates stop following a view whose probes are old. */
  probedAt = this.loadedAt;
  /** Requests by route and status class, summed over every isolate's reports. */
  readonly requests = new Map<string, number[]>();
  readonly rateLimited = new Map<string, number>();
  /** Limited requests isolates answered from their own buckets because a key's object could not, by reason. */
  readonly fallbacks = new Map<FallbackReason, number>();
  /** Passive ejections by backend name: reported by isolates, each counted once. */
  readonly ejections = new Map<string, number>();
  readonly traffic = new BackendTraffic(() => Date.now());
  /** What `statusReport` reads: a Worker's config changes only with a new deployment, so never a reload. */
  readonly statusSource: StatusSource;
  readonly #reasons = new Map<HealthState, string>();
  /** The backends by check interval, each group probed at its own (backends without active checks: never due). */
  readonly #groups: ProbeGroup[] = [];

  constructor(config: LoadedConfig, hash: number, options: { readonly source: string; readonly upstream: Upstream; readonly log: (line: string) => void }) {
    this.config = config;
    this.hash = hash;
    this.statusSource = { config, source: options.source, loadedAt: this.loadedAt, reloads: { success: 0, failure: 0 }, lastReload: undefined };
    this.schedule = probeSchedule(config.backends);
    const byInterval = new Map<number, LoadedConfig['backends'][number][]>();
    for (const backend of config.backends) {
      const intervalMs = backend.health.active?.intervalMs ?? Infinity;
      byInterval.set(intervalMs, [...(byInterval.get(intervalMs) ?? []), backend]);
    }
    for (const [intervalMs, backends] of byInterval) {
      const checks = startHealthChecks(backends, { upstream: options.upstream, log: options.log, schedule: false });
      this.#groups.push({ intervalMs, checks, dueAt: intervalMs === Infinity ? Infinity : 0 });
    }
    this.traffic.keepOnly(new Set(config.backends.map((backend) => backend.id)));
    for (const { name, health } of config.backends) {
      this.ejections.set(name, 0);
      health.subscribe((event) => {
        if (event.kind === 'up' || event.kind === 'down') this.#reasons.set(health, event.reason);
        else if (event.kind === 'ejected') bump(this.ejections, name);
      });
    }
  }

  /**
   * A round of probes of the backends whose interval is due at `now` (each backend at its own
   * `health_check.interval`); resolves when all have answered or timed out.
   */
  async probe(now = Date.now()): Promise<void> {
    const due = this.#groups.filter((group) => group.dueAt <= now);
    if (due.length === 0) return;
    for (const group of due) group.dueAt = now + group.intervalMs;
    await Promise.all(due.map((group) => group.checks.probeAll()));
    this.probedAt = Date.now();
  }

  /** When the next round is due: the alarm's time. */
  get nextProbeAt(): number {
    return Math.min(...this.#groups.map((group) => group.dueAt));
  }

  /** Whether the rounds have stopped (no round ended for two of their periods), though an alarm may be set. */
  probesLate(now = Date.now()): boolean {
    return this.schedule !== undefined && now - this.probedAt > 2 * this.schedule.roundMs;
  }

  /** The verdicts, as isolates adopt them. */
  view(now = Date.now()): SharedView {
    return {
      config: this.hash,
      probedAt: this.probedAt,
      backends: this.config.backends.map(({ id, health }) => ({
        id,
        state: health.state,
        reason: this.#reasons.get(health) ?? '',
        ejectedUntil: health.isEjected(now) ? health.ejectedUntil : 0,
        cooldownMs: health.cooldownMs,
        ejections: health.ejections,
      })),
    };
  }

  /** Takes an isolate's report: its ejections adopted (so every isolate hears of them), its traffic added. */
  report(report: IsolateReport): void {
    if (report.config !== this.hash) return;
    for (const ejection of report.ejections) {
      const backend = this.config.backends.find((each) => each.id === ejection.backend);
      backend?.health.adoptEjection(ejection.untilMs, ejection.cooldownMs, ejection.ejections, ejection.reason, ejection.streak);
    }
    const { requests, rateLimited, tries, fallbacks } = report.traffic;
    for (const [route, code, count] of requests) {
      const counts = this.requests.get(route) ?? CODES.map(() => 0);
      counts[code] = (counts[code] ?? 0) + count;
      this.requests.set(route, counts);
    }
    for (const [route, count] of rateLimited) bump(this.rateLimited, route, count);
    for (const [id, count, failed] of tries) this.traffic.add(id, count, failed);
    for (const [reason, count] of fallbacks) bump(this.fallbacks, reason, count);
  }
}

/** Backends that share a check interval, and when their next round is due. */
interface ProbeGroup {
  readonly intervalMs: number;
  readonly checks: HealthChecks;
  dueAt: number;
}
