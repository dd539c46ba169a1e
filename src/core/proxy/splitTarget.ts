/**
 * Splits a request URL into its path and its raw query, without parsing it again: the query is
 * forwarded byte for byte as the runtime handed it over (`?` included, `''` when absent).
 */
export function splitTarget(url: string): { path: string; query: string } {
  const scheme = url.indexOf('://');
  const pathStart = url.indexOf('/', scheme === -1 ? 0 : scheme + 3);
  if (pathStart === -1) return { path: '/', query: '' };
  const hash = url.indexOf('#', pathStart);
  const end = hash === -1 ? url.length : hash;
  const question = url.indexOf('?', pathStart);
  if (question === -1 || question > end) return { path: url.slice(pathStart, end), query: '' };
  return { path: url.slice(pathStart, question), query: url.slice(question, end) };
}
