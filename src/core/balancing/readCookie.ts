import type { HeaderFields } from '../http/HeaderFields.ts';

/**
 * Calls `visit` with each cookie's name and value in a `Cookie` header, in order, until it returns
 * true (RFC 6265 section 5.4: `name=value` pairs split by `;`, a value's surrounding quotes
 * dropped, section 4.1.1). Pairs without `=` are skipped. One pass over the header.
 */
export function eachCookie(header: string, visit: (name: string, value: string) => boolean | void): void {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const value = pair.slice(eq + 1).trim();
    if (visit(pair.slice(0, eq).trim(), value.length > 1 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value)) return;
  }
}

/** The value of the first cookie called `name` in the request's `Cookie` header, or undefined. */
export function readCookie(headers: HeaderFields, name: string): string | undefined {
  const header = headers.get('cookie');
  if (!header) return undefined;
  let found: string | undefined;
  eachCookie(header, (cookie, value) => cookie === name && ((found = value), true));
  return found;
}
