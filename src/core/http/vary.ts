import type { HeaderFields } from './HeaderFields.ts';

/**
 * Adds a request field name to the response's `Vary` (RFC 9110 section 12.5.5), unless it is
 * named there already or `Vary` is `*`; the names stay in one field.
 */
export function addVary(headers: HeaderFields, name: string): void {
  const vary = headers.get('vary');
  if (vary === null) return headers.set('vary', name);
  const names = vary.split(',').map((item) => item.trim().toLowerCase());
  if (names.includes(name) || names.includes('*')) return;
  headers.set('vary', `${vary}, ${name}`);
}
