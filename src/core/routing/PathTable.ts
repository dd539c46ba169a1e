interface TreeNode<T> {
  value?: T;
  children?: Map<string, TreeNode<T>>;
}

/**
 * Routes keyed by path prefix, matched on segment boundaries, longest first: `/mango` matches
 * `/mango`, `/mango/` and `/mango/x` but not `/mangos`. A lookup walks the request path's
 * segments once, through a tree of the routes' segments, and stops where no route goes deeper:
 * its cost grows with the path's length at most, whatever the number of routes.
 */
export class PathTable<T> {
  readonly #root: TreeNode<T> = {};
  #size = 0;

  /** Adds a route; returns false when the prefix is taken already. */
  add(prefix: string, value: T): boolean {
    let node = this.#root;
    for (const segment of segmentsOf(prefix)) {
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (!child) node.children.set(segment, (child = {}));
      node = child;
    }
    if (node.value !== undefined) return false;
    node.value = value;
    this.#size++;
    return true;
  }

  get size(): number {
    return this.#size;
  }

  /** The route with the longest prefix that `path` (normalised) falls under. */
  match(path: string): T | undefined {
    let node = this.#root;
    let found = node.value;
    const end = endOf(path);
    if (end <= 1) return found;
    // Each segment is sliced once, so the keys looked up add up to the path's length at most.
    for (let start = 1; ; ) {
      const slash = path.indexOf('/', start);
      const stop = slash === -1 || slash > end ? end : slash;
      const child = node.children?.get(path.slice(start, stop));
      if (!child) return found;
      node = child;
      if (node.value !== undefined) found = node.value;
      if (stop === end) return found;
      start = stop + 1;
    }
  }
}

// A trailing slash is ignored, in routes and requests alike: `/a/` is `/a`; `/` stays `/`.
function endOf(path: string): number {
  return path.length > 1 && path.charCodeAt(path.length - 1) === 47 /* / */ ? path.length - 1 : path.length;
}

function segmentsOf(prefix: string): string[] {
  const end = endOf(prefix);
  return end <= 1 ? [] : prefix.slice(1, end).split('/');
}
