/** When a certificate is renewed: at two thirds of its lifetime (Let's Encrypt's and Caddy's habit), so a 90-day one at 60 days. */
export function renewalTime(notBefore: number, notAfter: number): number {
  return notBefore + ((notAfter - notBefore) * 2) / 3;
}

/** The first wait after a failed order; each failure after it doubles the wait, up to `MAX_RETRY_DELAY_MS`. */
export const FIRST_RETRY_DELAY_MS = 60_000;
/** The longest wait between tries: a CA that has been failing for hours is still asked hourly. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/**
 * How long to wait after `failures` failed orders in a row (1 the first time): 1 min, 2, 4, ... 1 h.
 * Let's Encrypt allows 5 failed validations per name per hour, so a broken setup reaches the cap
 * instead of the rate limit: the schedule is shared through storage (`failure.json`) by every
 * process using it. A CA's own `Retry-After` (rate limits) wins when it is longer. `firstMs` is
 * for tests only (startServer.ts), which cannot wait a minute.
 */
export function retryDelay(failures: number, retryAfterMs = 0, firstMs = FIRST_RETRY_DELAY_MS): number {
  const doubled = firstMs * 2 ** Math.min(Math.max(failures - 1, 0), 16);
  return Math.max(Math.min(doubled, MAX_RETRY_DELAY_MS), retryAfterMs);
}

