import { normalizeHost } from './normalizeHost.ts';
import { PathTable } from './PathTable.ts';

/**
 * Finds the route for a request. The precedence, in one place:
 * 1. routes of the exact host name, longest path prefix first;
 * 2. routes of `*.` wildcard hosts, the most specific suffix first, longest path prefix first;
 * 3. path-only routes, longest prefix first;
 * 4. none: the caller answers 404.
 * Host names are compared case-insensitively, without port or trailing dot.
 */
export class RouteTable<T> {
  readonly #exact = new Map<string, PathTable<T>>();
  readonly #wildcard = new Map<string, PathTable<T>>();
  readonly #pathOnly = new PathTable<T>();
  #longestSuffix = 0;

  /**
   * Adds a route for `host` (exact, or `*.suffix`; undefined for path-only) under `path`.
   * Returns false when the same host and path are taken already.
   */
  add(host: string | undefined, path: string, value: T): boolean {
    if (host === undefined) return this.#pathOnly.add(path, value);
    const name = normalizeHost(host);
    if (!name.startsWith('*.')) return tableOf(this.#exact, name).add(path, value);
    const suffix = name.slice(1);
    this.#longestSuffix = Math.max(this.#longestSuffix, suffix.length);
    return tableOf(this.#wildcard, suffix).add(path, value);
  }

  /** @param host the request's Host header, as sent. @param path the normalised path. */
  match(host: string | undefined, path: string): T | undefined {
    if (host) {
      const name = normalizeHost(host);
      const exact = this.#exact.get(name)?.match(path);
      if (exact !== undefined) return exact;
      if (this.#wildcard.size > 0) {
        // Suffixes longer than any wildcard's are not looked up, so a long Host costs one scan.
        const first = name.indexOf('.', Math.max(0, name.length - this.#longestSuffix));
        for (let dot = first; dot !== -1; dot = name.indexOf('.', dot + 1)) {
          const found = this.#wildcard.get(name.slice(dot))?.match(path);
          if (found !== undefined) return found;
        }
      }
    }
    return this.#pathOnly.match(path);
  }
}

function tableOf<T>(tables: Map<string, PathTable<T>>, key: string): PathTable<T> {
  let table = tables.get(key);
  if (!table) tables.set(key, (table = new PathTable<T>()));
  return table;
}
