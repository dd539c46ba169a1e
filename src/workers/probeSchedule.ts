import type { CheckedBackend } from '../core/health/CheckedBackend.ts';

/** How a Worker's probe rounds run: every backend in one round, as a round is all a Worker can schedule. */
export interface ProbeSchedule {
  /** The shortest `health_check.interval`: the period of the rounds. */
  readonly intervalMs: number;
  /** The longest a round is normally apart from the next one's end: the interval plus the longest probe timeout. */
  readonly roundMs: number;
}

/** The rounds the config's active checks ask for; undefined when no backend is actively checked. */
export function probeSchedule(backends: readonly CheckedBackend[]): ProbeSchedule | undefined {
  const active = backends.flatMap(({ health }) => (health.active ? [health.active] : []));
  if (active.length === 0) return undefined;
  const intervalMs = Math.min(...active.map((settings) => settings.intervalMs));
  return { intervalMs, roundMs: intervalMs + Math.max(...active.map((settings) => settings.timeoutMs)) };
}
