import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';

// Imports go one way (DESIGN.md): config -> features -> shared leaves. This reads the relative
// imports of every file under src/ and fails on a cycle, between files or between units: a folder
// under src/core is one unit (a feature, subfolders included), a file directly in src/core is a
// unit of its own (a shared leaf such as Upstream.ts or timers.ts), and likewise outside the core.

const SRC = join(PROJECT_ROOT, 'src');

type Graph = Map<string, Map<string, string[]>>;

/** `import ... from './x.ts'`, `export ... from '../x.ts'` and `import './x.ts'`, over several lines too. */
const RELATIVE_IMPORT = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

function importsUnderSrc(): [string, string][] {
  return sourceFiles(SRC).flatMap((file) =>
    Array.from(readFileSync(file, 'utf8').matchAll(RELATIVE_IMPORT), (match): [string, string] => [
      relative(SRC, file),
      relative(SRC, resolve(dirname(file), match[1])),
    ]),
  );
}

function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'core') return parts.length > 2 ? `core/${parts[1]}` : file;
  return parts.length > 1 ? parts[0] : file;
}

/** A graph of `nodeOf` each side, each edge keeping the file imports behind it. Imports within a node are left out. */
function graphOf(imports: readonly [string, string][], nodeOf: (file: string) => string): Graph {
  const graph: Graph = new Map();
  for (const [from, to] of imports) {
    const a = nodeOf(from);
    const b = nodeOf(to);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    const edge = graph.get(a)!;
    edge.set(b, [...(edge.get(b) ?? []), `${from} -> ${to}`]);
  }
  return graph;
}

function shortestPath(graph: Graph, start: string, goal: string): string[] | undefined {
  const previous = new Map<string, string | undefined>([[start, undefined]]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    if (node === goal) {
      const path = [node];
      for (let back = previous.get(node); back !== undefined; back = previous.get(back)) path.unshift(back);
      return path;
    }
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/**
 * Every edge that lies on a cycle, with the shortest cycle through it, each cycle once (as
 * `a -> b -> a`, starting from its least node).
 */
function findCycles(graph: Graph): string[][] {
  const cycles = new Map<string, string[]>();
  for (const [from, edges] of graph) {
    for (const to of edges.keys()) {
      const back = shortestPath(graph, to, from);
      if (!back) continue;
      const ring = [from, ...back.slice(0, -1)];
      const start = ring.indexOf([...ring].sort()[0]);
      const cycle = [...ring.slice(start), ...ring.slice(0, start)];
      cycles.set(cycle.join(' -> '), [...cycle, cycle[0]]);
    }
  }
  return [...cycles.values()];
}

function describeCycle(graph: Graph, cycle: readonly string[]): string {
  const hops = cycle.slice(1).map((to, i) => `    ${graph.get(cycle[i])!.get(to)!.join(', ')}`);
  return [`  ${cycle.join(' -> ')}`, ...hops].join('\n');
}

describe('imports under src/', () => {
  const imports = importsUnderSrc();

  it('are all read, and each names a file that exists', () => {
    expect(imports.length).toBeGreaterThan(100);
    expect(imports).toContainEqual(['core/pool/Pool.ts', 'core/balancing/BalancingStrategy.ts']);
    expect(imports.filter(([, to]) => !existsSync(join(SRC, to)))).toEqual([]);
  });

  it('form no cycle between files', () => {
    const graph = graphOf(imports, (file) => file);
    expect(findCycles(graph).map((cycle) => describeCycle(graph, cycle))).toEqual([]);
  });

  it('form no cycle between features and leaves', () => {
    const graph = graphOf(imports, unitOf);
    expect(findCycles(graph).map((cycle) => describeCycle(graph, cycle))).toEqual([]);
  });

  it('are found to loop when they do, each cycle named once', () => {
    const graph = graphOf(
      [
        ['a.ts', 'b.ts'],
        ['b.ts', 'c.ts'],
        ['c.ts', 'a.ts'],
        ['c.ts', 'd.ts'],
        ['d.ts', 'c.ts'],
        ['d.ts', 'e.ts'],
      ],
      (file) => file,
    );
    expect(findCycles(graph).map((cycle) => cycle.join(' -> '))).toEqual(['a.ts -> b.ts -> c.ts -> a.ts', 'c.ts -> d.ts -> c.ts']);
  });
});
