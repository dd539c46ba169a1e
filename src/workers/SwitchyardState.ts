import { DurableObject } from 'cloudflare:workers';
import bundledConfig from '../../examples/loadbalancer.yaml';
import { statusReport } from '../admin/statusReport.ts';
import { hash32 } from '../core/balancing/hash32.ts';
import { fetchUpstream } from '../core/proxy/fetchUpstream.ts';
import type { SharedPolicy } from '../core/RateLimitStore.ts';
import { TokenBucket } from '../core/ratelimit/TokenBucket.ts';
import { SharedHealth } from './SharedHealth.ts';
import { STATE_PROTOCOL, type IsolateReport, type SharedStateObject, type SharedView } from './stateMessages.ts';
import { workerConfigSource, loadWorkerConfig } from './workerConfig.ts';
import { workerMetrics } from './workerMetrics.ts';
import type { Env } from './workersTypes.ts';

/** The name of the one object that holds the Worker's health (`idFromName`). */
export const HEALTH_OBJECT = 'health';

/** The name of the object that holds one rate limit's bucket for one key: a shard per key. */
export function rateLimitObject(limit: string, key: string): string {
  return `rate_limit\n${limit}\n${key}`;
}

/**
 * Which config a source is, as compiled: isolates and the object compare it before trusting each
 * other's news. It covers the text (`key`), the value of every binding `${env:NAME}` read in it
 * (a secret rolled out gradually changes backends without changing the text) and the messages'
 * shape (`STATE_PROTOCOL`, for old and new code side by side during a gradual deployment).
 * @param reads each binding the config read, with its value
 */
export function configHash(key: string, reads: ReadonlyMap<string, string | undefined>): number {
  const values = [...reads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return hash32(JSON.stringify([STATE_PROTOCOL, key, values]));
}

/**
 * The Worker's shared state (binding `SWITCHYARD_STATE`, wrangler.toml). One class, two kinds of
 * object by name: the `health` object compiles the Worker's own config (the same bindings as
 * every isolate), probes each backend from alarms at its own `health_check.interval`, takes
 * in the ejections and traffic isolates report, and answers `/metrics` and `/status`; a
 * `rate_limit` object holds one token bucket of one limit for one key. Nothing is written to
 * storage but the alarm: an object evicted or restarted probes again and starts its buckets full.
 */
export class SwitchyardState extends DurableObject<Env> implements SharedStateObject {
  /** null when the config does not load (said once); undefined until first needed. */
  #health: SharedHealth | null | undefined;
  readonly #buckets = new Map<string, TokenBucket>();

  /** An isolate's report in, the verdicts out; arms the probing alarm if it is not set or its rounds are late. Undefined without a loadable config. */
  async sync(report: IsolateReport): Promise<SharedView | undefined> {
    const shared = this.#shared();
    if (!shared) return undefined;
    shared.report(report);
    // An alarm set but not firing (its retries spent, a platform incident) is re-armed too.
    if (shared.schedule !== undefined && (shared.probesLate() || (await this.ctx.storage.getAlarm()) === null)) await this.ctx.storage.setAlarm(Date.now());
    return shared.view();
  }

  /** A round of the probes due, then the next alarm when the next are due (at-least-once: a retried round only probes again). */
  async alarm(): Promise<void> {
    const shared = this.#shared();
    if (shared?.schedule === undefined) return;
    try {
      await shared.probe();
    } finally {
      await this.ctx.storage.setAlarm(Math.max(Date.now(), shared.nextProbeAt));
    }
  }

  /** `/metrics` for the whole Worker. */
  metrics(): string | undefined {
    const shared = this.#shared();
    return shared ? workerMetrics(shared) : undefined;
  }

  /** `/status` for the whole Worker: `/api/status`'s JSON, from this object's view. */
  status(): unknown {
    const shared = this.#shared();
    return shared ? statusReport(shared.statusSource, shared.traffic) : undefined;
  }

  /**
   * Takes a token from this object's bucket of the limit (a `rate_limit` object).
   * @returns 0 when the request may pass, else the milliseconds until it could
   */
  take(limit: string, policy: SharedPolicy): number {
    const name = `${limit}\n${policy.requests}/${policy.perMs}/${policy.burst}`;
    const now = Date.now();
    let bucket = this.#buckets.get(name);
    if (!bucket) this.#buckets.set(name, (bucket = new TokenBucket({ capacity: policy.burst, refillPerMs: policy.requests / policy.perMs }, now)));
    return bucket.take(now);
  }

  #shared(): SharedHealth | null {
    if (this.#health !== undefined) return this.#health;
    const log = (line: string) => console.error(line);
    const source = workerConfigSource(this.env, bundledConfig);
    if (source.text === undefined) return (this.#health = null);
    const reads = new Map<string, string | undefined>();
    const loaded = loadWorkerConfig(this.env, { ...source, text: source.text }, { read: (name, value) => reads.set(name, value) });
    if (!loaded.ok) {
      log(`switchyard: the shared state cannot load the config:\n${loaded.problem}`);
      return (this.#health = null);
    }
    return (this.#health = new SharedHealth(loaded.config, configHash(source.key, reads), { source: source.fileName, upstream: fetchUpstream(), log }));
  }
}
