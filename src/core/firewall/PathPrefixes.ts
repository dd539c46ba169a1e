import { ConfigProblem } from '../compile/ConfigProblem.ts';
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
  readonly #root: TreeNode = { next: new Map() };
  readonly #all: boolean;

  /**
   * @param entries paths starting with `/`; encoded and normalised as requests are, a trailing slash ignored
   * @throws ConfigProblem for a path that cannot be normalised
   */
  constructor(entries: readonly string[], at: readonly (string | number)[]) {
    let all = false;
    entries.forEach((entry, i) => {
      const normal = normalizeConfigPath(entry);
      if (normal === undefined) throw new ConfigProblem([...at, i], `${JSON.stringify(entry)} cannot be normalised (a bad escape, an encoded slash, or ".." above the root)`);
      const key = normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
      if (key === '/') all = true;
      else this.#add(key.toLowerCase());
    });
    this.#all = all;
  }

  /** Whether a normalised path falls under one of the prefixes. */
  matches(path: string): boolean {
    if (this.#all) return true;
    if (this.#root.next.size === 0) return false;
    const lower = path.toLowerCase();
    if (this.#covers(lower, false)) return true;
    // As a servlet container reads it: `;params` dropped from every segment, `/a;x/b` is `/a/b`.
    return lower.includes(';') && this.#covers(lower, true);
  }

  #add(key: string): void {
    let node = this.#root;
    for (let i = 0; i < key.length; i++) {
      const code = key.charCodeAt(i);
      let child = node.next.get(code);
      if (!child) node.next.set(code, (child = { next: new Map() }));
      node = child;
    }
    node.isPrefix = true;
  }

  // One walk down the tree of prefixes, a character at a time, ending where no prefix goes on:
  // each prefix the path starts with is asked about once, without building it as a string.
  #covers(path: string, dropParams: boolean): boolean {
    let node = this.#root;
    for (let i = 0; i < path.length; i++) {
      let code = path.charCodeAt(i);
      if (code === 59 /* ; */ && dropParams) {
        i = path.indexOf('/', i);
        if (i === -1) break;
        code = 47;
      }
      if (node.isPrefix && (code === 47 /* / */ || code === 59)) return true;
      const child = node.next.get(code);
      if (!child) return false;
      node = child;
    }
    return node.isPrefix === true;
  }
}

interface TreeNode {
  isPrefix?: boolean;
  readonly next: Map<number, TreeNode>;
}
