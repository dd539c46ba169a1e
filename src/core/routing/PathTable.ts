interface TreeNode<T> {
  /** The routes of exactly this prefix, in the order the caller keeps them (its precedence). */
  values?: T[];
  children?: Map<string, TreeNode<T>>;
}

/**
 * Routes keyed by path prefix, matched on segment boundaries, longest first: `/mango` matches
 * `/mango`, `/mango/` and `/mango/x` but not `/mangos`. A lookup walks the request path's
 * segments once, through a tree of the routes' segments, and stops where no route goes deeper:
 * its cost grows with the path's length at most, whatever the number of routes. A prefix holds
 * a list of routes (those told apart by their `match` conditions), which the caller orders.
 */
export class PathTable<T> {
  readonly #root: TreeNode<T> = {};

  /** The list of routes under exactly `prefix`, created empty if there is none: the caller adds to it in its order. */
  routesAt(prefix: string): T[] {
    let node = this.#root;
    for (const segment of segmentsOf(prefix)) {
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (!child) node.children.set(segment, (child = {}));
      node = child;
    }
    return (node.values ??= []);
  }

  /**
   * The first route, longest prefix first, that `path` (normalised) falls under and `accepts`
   * takes; the routes of one prefix in their list's order.
   */
  find(path: string, accepts: (value: T) => boolean): T | undefined {
    let node = this.#root;
    const lists: T[][] = node.values ? [node.values] : [];
    const end = endOf(path);
    // Each segment is sliced once, so the keys looked up add up to the path's length at most.
    for (let start = 1; end > 1; ) {
      const slash = path.indexOf('/', start);
      const stop = slash === -1 || slash > end ? end : slash;
      const child = node.children?.get(path.slice(start, stop));
      if (!child) break;
      node = child;
      if (node.values) lists.push(node.values);
      if (stop === end) break;
      start = stop + 1;
    }
    for (let i = lists.length - 1; i >= 0; i--) {
      for (const value of lists[i]) if (accepts(value)) return value;
    }
    return undefined;
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
