/** The `route` label of a request no route took (400, 404): no route is named so, hosts and paths cannot hold parentheses. */
export const NO_ROUTE = '(none)';

/** The status classes the metrics count by, in order. */
export const CODES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The status class a status counts under; a try the backend never answered counts as `5xx`, as the balancer answers it. */
export function codeIndex(status: number | undefined): number {
  if (status === undefined) return 4;
  return Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
}
