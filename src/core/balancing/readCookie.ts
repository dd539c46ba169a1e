import type { HeaderFields } from '../http/HeaderFields.ts';
/** The value of the first cookie called `name` in the request's `Cookie` header (RFC 6265 section 5.4), or undefined. */
export function readCookie(headers: HeaderFields, name: string): string | undefined {
  const header = headers.get('cookie');
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}
