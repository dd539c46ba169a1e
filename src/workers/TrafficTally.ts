import type { RequestRecord } from '../core/observe/RequestRecord.ts';
import { codeIndex, NO_ROUTE } from '../admin/metricLabels.ts';
import type { FallbackReason } from '../core/RateLimitStore.ts';
import type { TrafficCounts } from './stateMessages.ts';

/**
 * One isolate's requests since it last reported them to the Durable Object: counted per request
 * in maps bounded by the config (route and backend names, status classes, fallback reasons),
 * handed over and cleared at each `sync`, and put back when the sync fails.
 */
export class TrafficTally {
  #requests = new Map<string, number>();
  #rateLimited = new Map<string, number>();
  #tries = new Map<string, [number, number]>();
  #fallbacks = new Map<FallbackReason, number>();

  readonly observe = (record: RequestRecord): void => {
    const route = record.route?.name ?? NO_ROUTE;
    bump(this.#requests, `${codeIndex(record.status)}${route}`);
    if (record.refusedBy === 'rate_limit') bump(this.#rateLimited, route);
    for (const { backend, status, clientGone } of record.attempts) {
      if (clientGone) continue;
      const counts = this.#tries.get(backend.id) ?? [0, 0];
      counts[0]++;
      if (status === undefined || status >= 500) counts[1]++;
      this.#tries.set(backend.id, counts);
    }
  };

  /** A limited request this isolate's own buckets answered because its key's object could not (`DurableRateLimits`). */
  readonly fallback = (reason: FallbackReason): void => bump(this.#fallbacks, reason);

  /** The counts since the last call, and a fresh start. */
  take(): TrafficCounts {
    const counts: TrafficCounts = {
      requests: [...this.#requests].map(([key, count]) => [key.slice(1), Number(key[0]), count] as const),
      rateLimited: [...this.#rateLimited],
      tries: [...this.#tries].map(([id, [tries, failed]]) => [id, tries, failed] as const),
      fallbacks: [...this.#fallbacks],
    };
    this.#requests = new Map();
    this.#rateLimited = new Map();
    this.#tries = new Map();
    this.#fallbacks = new Map();
    return counts;
  }

  /** Puts counts back that could not be delivered, so the next report carries them. */
  restore(counts: TrafficCounts): void {
    for (const [route, code, count] of counts.requests) bump(this.#requests, `${code}${route}`, count);
    for (const [route, count] of counts.rateLimited) bump(this.#rateLimited, route, count);
    for (const [id, tries, failed] of counts.tries) {
      const mine = this.#tries.get(id) ?? [0, 0];
      this.#tries.set(id, [mine[0] + tries, mine[1] + failed]);
    }
    for (const [reason, count] of counts.fallbacks) bump(this.#fallbacks, reason, count);
  }
}

/** Adds `by` to `key`'s count in `map`. */
export function bump<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
