/**
 * Routes keyed by path prefix, matched on segment boundaries, longest first: `/mango` matches
 * `/mango`, `/mango/` and `/mango/x` but not `/mangos`. A lookup costs one map probe per segment
 * of the request path, whatever the number of routes.
 */
export class PathTable<T> {
  readonly #byPrefix = new Map<string, T>();

  /** Adds a route; returns false when the prefix is taken already. */
  add(prefix: string, value: T): boolean {
    const key = prefixKey(prefix);
    if (this.#byPrefix.has(key)) return false;
    this.#byPrefix.set(key, value);
    return true;
  }

  get size(): number {
    return this.#byPrefix.size;
  }

  /** The route with the longest prefix that `path` (normalised) falls under. */
  match(path: string): T | undefined {
    let candidate = prefixKey(path);
    for (;;) {
      const found = this.#byPrefix.get(candidate);
      if (found !== undefined) return found;
      if (candidate === '/') return undefined;
      const slash = candidate.lastIndexOf('/');
      candidate = slash === 0 ? '/' : candidate.slice(0, slash);
    }
  }
}

function prefixKey(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
