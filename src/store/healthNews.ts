/**
 * What one instance tells the others about a backend, as JSON on the channel `<prefix>health`
 * and as the value of its field in the hash of the same name (src/store/FleetHealth.ts).
 * `backend` is the backend's URL (`Backend.id`), which names it the same on every instance.
 */
export type HealthNews =
  | { readonly kind: 'down' | 'up'; readonly from: string; readonly backend: string; readonly reason: string; readonly streak: number }
  | { readonly kind: 'ejected'; readonly from: string; readonly backend: string; readonly reason: string; readonly streak: number; readonly forMs: number; readonly cooldownMs: number; readonly ejections: number }
  | { readonly kind: 'drained' | 'undrained'; readonly from: string; readonly backend: string };

/** Longest ejection taken from another instance: a day; anything longer is a mistake, not news. */
const MAX_EJECTION_MS = 86_400_000;

/** Longest message read: real news is a few hundred bytes; more is not news (a reason is an HTTP status line or an error). */
export const MAX_NEWS_LENGTH = 4_096;

/**
 * The news in `text`, or undefined when it is not news this version understands (ignored, never
 * thrown). Its strings go into log lines: control characters (a newline would forge a line) are
 * replaced by spaces.
 */
export function parseHealthNews(text: string): HealthNews | undefined {
  if (text.length > MAX_NEWS_LENGTH) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, from: sender, backend: url, reason: why, streak, forMs, cooldownMs, ejections } = value as Record<string, unknown>;
  if (typeof sender !== 'string' || typeof url !== 'string') return undefined;
  const [from, backend] = [printable(sender), printable(url)];
  const reason = typeof why === 'string' ? printable(why) : undefined;
  const count = typeof streak === 'number' && Number.isSafeInteger(streak) && streak >= 0 ? streak : 0;
  switch (kind) {
    case 'down':
    case 'up':
      return typeof reason === 'string' ? { kind, from, backend, reason, streak: count } : undefined;
    case 'ejected':
      if (typeof reason !== 'string' || !isDuration(forMs) || !isDuration(cooldownMs)) return undefined;
      // The ejections in a row, so the next cool-down doubles from it wherever the next failure is seen (older news: 1).
      return { kind, from, backend, reason, streak: count, forMs, cooldownMs, ejections: typeof ejections === 'number' && Number.isSafeInteger(ejections) && ejections >= 1 && ejections <= 64 ? ejections : 1 };
    case 'drained':
    case 'undrained':
      return { kind, from, backend };
    default:
      return undefined;
  }
}

function printable(text: string): string {
  // C0 and C1 controls, DEL, and the line and paragraph separators.
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value <= MAX_EJECTION_MS;
}
