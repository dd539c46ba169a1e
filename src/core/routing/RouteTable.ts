import { MatchRequest, type RequestFacts } from './MatchRequest.ts';
import { normalizeHost } from './normalizeHost.ts';
import { PathTable } from './PathTable.ts';
import type { RouteMatch } from './RouteMatch.ts';

/** A route as the table holds it: the value, and the conditions a request must meet (none: any request). */
export interface Candidate<T> {
  readonly value: T;
  readonly match: RouteMatch | undefined;
}

/**
 * Finds the route for a request. The precedence, in one place:
 * 1. routes of the exact host name;
 * 2. routes of `*.` wildcard hosts, the most specific suffix first;
 * 3. path-only routes;
 * 4. none: the caller answers 404.
 * Within each, the longest path prefix first; within one host and prefix, the route with more
 * `match` conditions first, then the one written first. The first candidate whose conditions all
 * hold serves the request: one whose `match` fails gives way to the next, down to shorter
 * prefixes and the next kind of host. Host names are compared case-insensitively, without port
 * or trailing dot.
 */
export class RouteTable<T> {
  readonly #exact = new Map<string, PathTable<Candidate<T>>>();
  readonly #wildcard = new Map<string, PathTable<Candidate<T>>>();
  readonly #pathOnly = new PathTable<Candidate<T>>();
  #longestSuffix = 0;
  readonly #queryNames = new Set<string>();
  readonly #cookieNames = new Set<string>();
  /** Every route by what tells it apart: its host, path and conditions. */
  readonly #routeKeys = new Map<string, T>();

  /**
   * Adds a route for `host` (exact, or `*.suffix`; undefined for path-only) under `path` (normalised).
   * @returns undefined when added; else the route already there that no request could tell
   *   apart from this one (the same host, path and conditions), and this one is not added
   */
  add(host: string | undefined, path: string, value: T, match?: RouteMatch): T | undefined {
    const routeKey = JSON.stringify([host === undefined ? null : normalizeHost(host), path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path, match?.key ?? '[]']);
    const twin = this.#routeKeys.get(routeKey);
    if (twin !== undefined) return twin;
    this.#routeKeys.set(routeKey, value);
    const routes = this.#tableFor(host).routesAt(path);
    const count = match?.count ?? 0;
    const after = routes.findIndex((route) => (route.match?.count ?? 0) < count);
    routes.splice(after === -1 ? routes.length : after, 0, { value, match });
    for (const name of match?.queryNames ?? []) this.#queryNames.add(name);
    for (const name of match?.cookieNames ?? []) this.#cookieNames.add(name);
    return undefined;
  }

  /**
   * The route that serves a request, or undefined (404).
   * @param host the request's Host header, as sent. @param path the normalised path.
   * @param request what `match` conditions read; without it, only routes without conditions serve
   */
  match(host: string | undefined, path: string, request?: RequestFacts): T | undefined {
    // Made on the first candidate with conditions: a table without any pays nothing for them.
    let facts: MatchRequest | undefined;
    const holds = (candidate: Candidate<T>) => !candidate.match || (request !== undefined && candidate.match.holds((facts ??= this.matchRequest(request))));
    return this.#find(host, path, holds)?.value;
  }

  /** The request as `match` conditions read it, keeping only the query and cookie names some route asks for. */
  matchRequest(request: RequestFacts): MatchRequest {
    return new MatchRequest(request, { query: this.#queryNames, cookies: this.#cookieNames });
  }

  /** Every route a request for `host` and `path` could be served by, in the order `match` tries them (for `explain`). */
  candidates(host: string | undefined, path: string): Candidate<T>[] {
    const all: Candidate<T>[] = [];
    this.#find(host, path, (candidate) => (all.push(candidate), false));
    return all;
  }

  /** The precedence, in one place: the first candidate `accepts` takes, in order. */
  #find(host: string | undefined, path: string, accepts: (candidate: Candidate<T>) => boolean): Candidate<T> | undefined {
    if (host) {
      const name = normalizeHost(host);
      const exact = this.#exact.get(name)?.find(path, accepts);
      if (exact) return exact;
      if (this.#wildcard.size > 0) {
        // Suffixes longer than any wildcard's are not looked up, so a long Host costs one scan.
        const first = name.indexOf('.', Math.max(0, name.length - this.#longestSuffix));
        for (let dot = first; dot !== -1; dot = name.indexOf('.', dot + 1)) {
          const found = this.#wildcard.get(name.slice(dot))?.find(path, accepts);
          if (found) return found;
        }
      }
    }
    return this.#pathOnly.find(path, accepts);
  }

  #tableFor(host: string | undefined): PathTable<Candidate<T>> {
    if (host === undefined) return this.#pathOnly;
    const name = normalizeHost(host);
    if (!name.startsWith('*.')) return tableOf(this.#exact, name);
    const suffix = name.slice(1);
    this.#longestSuffix = Math.max(this.#longestSuffix, suffix.length);
    return tableOf(this.#wildcard, suffix);
  }
}

function tableOf<T>(tables: Map<string, PathTable<T>>, key: string): PathTable<T> {
  let table = tables.get(key);
  if (!table) tables.set(key, (table = new PathTable<T>()));
  return table;
}
