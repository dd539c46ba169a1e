import type { ActiveState } from '../core/health/HealthState.ts';
import type { FallbackReason, SharedPolicy } from '../core/RateLimitStore.ts';

// What isolates and the SWITCHYARD_STATE Durable Object tell each other (RPC arguments and
// results: plain data, structured-cloned).

/** The version of these messages, part of `configHash`: raise it whenever a message changes shape. */
export const STATE_PROTOCOL = 3;

/** One backend's health as the Durable Object holds it. */
export interface BackendVerdict {
  /** The backend's id (`http://10.0.0.1:8080`). */
  readonly id: string;
  /** What the object's probes last concluded. */
  readonly state: ActiveState;
  /** The last probe's reason (`GET /healthcheck -> 503`), for the adopting isolate's record. */
  readonly reason: string;
  /** When a passive ejection reported by some isolate ends (ms since the epoch); 0 for none in force. */
  readonly ejectedUntil: number;
  readonly cooldownMs: number;
  /** Ejections in a row, so the next cool-down doubles from it in whichever isolate sees the next failure. */
  readonly ejections: number;
}

/** The Durable Object's answer to `sync`: the verdicts, and which config they are of. */
export interface SharedView {
  /** The hash of the config the object compiled (`configHash`): an isolate adopts only a view of its own config. */
  readonly config: number;
  /** When the object's last round of probes ended (ms since the epoch): an isolate follows only a view whose probes are recent. */
  readonly probedAt: number;
  readonly backends: readonly BackendVerdict[];
}

/** A passive ejection an isolate decided, for every other isolate to adopt. */
export interface EjectionReport {
  readonly backend: string;
  readonly untilMs: number;
  readonly cooldownMs: number;
  readonly ejections: number;
  readonly reason: string;
  readonly streak: number;
}

/** Requests an isolate answered since its last report, for the whole Worker's `/metrics` and `/status`. */
export interface TrafficCounts {
  /** `[route, status class index, count]`. */
  readonly requests: readonly (readonly [string, number, number])[];
  /** `[route, count]` of 429s from a rate limit. */
  readonly rateLimited: readonly (readonly [string, number])[];
  /** `[backend id, tries, failed tries]`. */
  readonly tries: readonly (readonly [string, number, number])[];
  /** `[reason, count]` of limited requests the isolate's own buckets answered because a key's object could not. */
  readonly fallbacks: readonly (readonly [FallbackReason, number])[];
}

/** What an isolate sends with each `sync`. */
export interface IsolateReport {
  readonly config: number;
  readonly ejections: readonly EjectionReport[];
  readonly traffic: TrafficCounts;
}

/** The SWITCHYARD_STATE object's RPC methods (src/workers/SwitchyardState.ts), as isolates call them. */
export interface SharedStateObject {
  /** An isolate's report in, the verdicts out; undefined when the object has no config that loads. */
  sync(report: IsolateReport): Promise<SharedView | undefined>;
  /** `/metrics` for the whole Worker. */
  metrics(): string | undefined;
  /** `/status` for the whole Worker. */
  status(): unknown;
  /** Takes a token from a `rate_limit` object's bucket: 0 when the request may pass, else the milliseconds until it could. */
  take(limit: string, policy: SharedPolicy): number;
}
