import type { CheckedBackend } from './CheckedBackend.ts';
import type { HealthEvent } from './HealthState.ts';

/**
 * The log line for a health change, naming the backend and why, for example
 * `health: http://127.0.0.1:8081 is DOWN: GET /healthcheck -> 404 (3 failed checks in a row); ...`.
 */
export function describeHealthEvent(backend: CheckedBackend, event: HealthEvent): string {
  const name = `health: ${backend.id}`;
  switch (event.kind) {
    // An adopted verdict's reason says who reached it, and how.
    case 'up':
      return `${name} is UP: ${event.reason}${event.first || event.adopted ? '' : ` (${plural(event.streak, 'passed check')} in a row)`}`;
    case 'down': {
      if (event.adopted) return `${name} is DOWN: ${event.reason}`;
      const streak = event.first ? 'first check' : `${plural(event.streak, 'failed check')} in a row`;
      return `${name} is DOWN: ${event.reason} (${streak})${hint(backend, event.reason)}`;
    }
    case 'ejected':
      return `${name} ejected for ${seconds(event.cooldownMs)}: ${event.reason} (${plural(event.streak, 'failed request')} in a row)`;
    case 'returned':
      return `${name} back from a ${seconds(event.cooldownMs)} ejection; trying it again`;
  }
}

/** Tells a user whose app has no health check path what to change. */
function hint(backend: CheckedBackend, reason: string): string {
  const path = backend.health.active?.path;
  if (!/ -> (404|405|501)$/.test(reason) || !path) return '';
  return `; if the app does not serve ${path}, set health_check.path to a path that answers 2xx or 3xx, or health_check: false`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
