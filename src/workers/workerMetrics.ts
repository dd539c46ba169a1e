import { CODES } from '../admin/metricLabels.ts';
import { FALLBACK_REASONS } from '../core/RateLimitStore.ts';
import type { SharedHealth } from './SharedHealth.ts';

/**
 * The whole Worker's metrics in the Prometheus text format (version 0.0.4), as the Durable Object
 * sees them: its health verdicts, and the requests every isolate reported (each reports at most a
 * couple of seconds late). The same names and labels as the admin listener's on Node and Deno
 * (docs/operations.md), fewer of them: no latency histogram, retries or in-flight gauges on Workers,
 * and no `switchyard_store_up` (while the object is down, this text cannot be had at all).
 */
export function workerMetrics(shared: SharedHealth, now = Date.now()): string {
  const lines: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: readonly (readonly [Record<string, string>, number])[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}{${labelText(labels)}} ${value}`);
  };
  const routes = new Set([...shared.config.routesInOrder.map((route) => route.name), ...shared.requests.keys()]);
  family(
    'switchyard_requests_total',
    'counter',
    'Requests answered, by route and status class, summed over every isolate of the Worker.',
    [...routes].flatMap((route) => CODES.map((code, i) => [{ route, code }, shared.requests.get(route)?.[i] ?? 0] as const)),
  );
  family(
    'switchyard_rate_limited_total',
    'counter',
    'Requests refused with 429 by a rate limit, by route, summed over every isolate.',
    [...routes].map((route) => [{ route }, shared.rateLimited.get(route) ?? 0] as const),
  );
  family(
    'switchyard_store_fallbacks_total',
    'counter',
    "Rate-limited requests answered by the local buckets because the shared store could not, by reason: unreachable, timeout or error. On Workers: calls to a key's Durable Object (a request under two limits makes two), counted by each isolate and reported with its next sync the health object takes, so an outage shows once that object answers again.",
    FALLBACK_REASONS.map((reason) => [{ reason }, shared.fallbacks.get(reason) ?? 0] as const),
  );
  family(
    'switchyard_backend_up',
    'gauge',
    'Whether the backend may be picked by health: 1 unless down by the shared active checks or ejected by passive health.',
    shared.config.backends.map(({ name, health }) => [{ backend: name }, health.isUp && !health.isEjected(now) ? 1 : 0] as const),
  );
  family(
    'switchyard_backend_ejections_total',
    'counter',
    'Times passive health ejected the backend, in any isolate.',
    [...shared.ejections].map(([backend, count]) => [{ backend }, count] as const),
  );
  return `${lines.join('\n')}\n`;
}

/** Label values escaped as the text format asks: backslash, double quote and line feed. */
function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}
