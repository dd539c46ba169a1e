/** A request-target taken apart: the raw path and query, and the authority of an absolute URL. */
export interface TargetParts {
  readonly path: string;
  /** The raw query including its `?`, or `''`. */
  readonly query: string;
  /** `host[:port]` of an absolute URL (`http://host/path`); undefined for an origin-form target. */
  readonly authority?: string;
}

/**
 * Splits a request-target or URL into its path and its raw query, without parsing it again: the
 * query is forwarded byte for byte as the runtime handed it over. An origin-form target
 * (`/path?query`) has no scheme, whatever its query holds: `/a?next=http://x/y` is path `/a`.
 */
export function splitTarget(url: string): TargetParts {
  const scheme = url.charCodeAt(0) === 47 /* / */ ? -1 : url.indexOf('://');
  const start = scheme === -1 ? 0 : scheme + 3;
  const afterAuthority = scheme === -1 ? 0 : authorityEnd(url, start);
  const authority = scheme === -1 ? undefined : url.slice(start, afterAuthority);
  const hash = url.indexOf('#', afterAuthority);
  const end = hash === -1 ? url.length : hash;
  // The path starts right after the authority, or is empty (`http://a?x=/admin` asks for `/`, not
  // `/admin`: a `/` in the query is the query's).
  const pathStart = url.charCodeAt(afterAuthority) === 47 /* / */ ? afterAuthority : -1;
  const question = url.indexOf('?', afterAuthority);
  const query = question === -1 || question > end ? '' : url.slice(question, end);
  if (pathStart === -1) return { path: '/', query, authority };
  if (query === '') return { path: url.slice(pathStart, end), query, authority };
  return { path: url.slice(pathStart, question), query, authority };
}

/** Where an authority starting at `from` ends: at the first `/`, `?` or `#`, or the end. */
function authorityEnd(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return url.length;
}
