import { ConfigProblem } from '../config/ConfigProblem.ts';
import { normalizeConfigPath } from '../path/normalizeConfigPath.ts';

/**
 * Path prefixes a firewall rejects, matched on segment boundaries against the normalised path:
 * `/messages` covers `/messages`, `/messages/` and `/messages/1`, not `/messages-archive`.
 * Two choices err on the side of refusing: letters are compared without case (a backend on a
 * case-insensitive file system serves `/MESSAGES` as `/messages`), and `;params` are also read
 * as servlet containers read them, dropped from each segment (`/messages;x` and `/a;x/b` reach
 * `/messages` and `/a/b` there).
 */
export class PathPrefixes {
  readonly #prefixes = new Set<string>();
  readonly #all: boolean;

  /**
   * @param entries paths starting with `/`; encoded and normalised as requests are, a trailing slash ignored
   * @throws ConfigProblem for a path that cannot be normalised
   */
  constructor(entries: readonly string[], at: readonly (string | number)[]) {
    entries.forEach((entry, i) => {
      const normal = normalizeConfigPath(entry);
      if (normal === undefined) throw new ConfigProblem([...at, i], `${JSON.stringify(entry)} cannot be normalised (a bad escape, an encoded slash, or ".." above the root)`);
      const key = normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
      this.#prefixes.add(key.toLowerCase());
    });
    this.#all = this.#prefixes.has('/');
  }

  /** Whether a normalised path falls under one of the prefixes. */
  matches(path: string): boolean {
    if (this.#prefixes.size === 0) return false;
    if (this.#all) return true;
    const lower = path.toLowerCase();
    if (this.#under(lower)) return true;
    // As a servlet container reads it: `;params` dropped from every segment, `/a;x/b` is `/a/b`.
    return lower.includes(';') && this.#under(lower.replace(/;[^/]*/g, ''));
  }

  #under(path: string): boolean {
    for (let i = 1; i < path.length; i++) {
      const code = path.charCodeAt(i);
      if ((code === 47 /* / */ || code === 59) /* ; */ && this.#prefixes.has(path.slice(0, i))) return true;
    }
    return this.#prefixes.has(path);
  }
}
