import * as v from 'valibot';
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { ConfigError, inFileOrder, type ConfigIssue } from './ConfigError.ts';
import { configSchema, type Config } from './schema/index.ts';
import { jsonSyntaxError } from './strictJson.ts';
import { substituteEnv, typedValue, type EnvProblem, type Environment, type Substitution } from './substituteEnv.ts';
import { suggest } from './suggest.ts';

/** How config text is read. */
export interface ReadOptions {
  /**
   * Where `${env:NAME}` in a string value is looked up (src/core/config/substituteEnv.ts).
   * @default no variable is set: only references with a default load
   */
  readonly env?: Environment;
}

/**
 * Parses and validates config text, YAML or JSON (JSON is read as the YAML it is a subset of, so
 * both get line and column numbers), with `${env:NAME}` substituted in string values. Throws a
 * `ConfigError` listing every problem found.
 * @param fileName used in error messages; a name ending in `.json` is read as strict JSON
 */
export function parseConfig(text: string, fileName = 'config', options?: ReadOptions): Config {
  return readConfig(text, fileName, options).config;
}

/** A validated config and a way to point at any of its fields in the source text. */
export interface ConfigSource {
  readonly config: Config;
  /** Line and column (1-based) of the field at `path`, or of its nearest parent that exists. */
  locate(path: readonly (string | number)[]): { line: number; column: number };
}

/** Like `parseConfig`, and keeps the parsed document to locate fields for later errors. */
export function readConfig(text: string, fileName = 'config', options: ReadOptions = {}): ConfigSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lineCounter.linePos(Math.min(offset, Math.max(text.length - 1, 0)));
  const refuse = (offset: number, message: string): never => {
    const { line, col } = at(offset);
    throw new ConfigError([{ file: fileName, line, column: col, path: '', message }]);
  };

  // YAML reads JSON with trailing commas, comments and such: a file that says it is JSON must be JSON.
  const notJson = /\.json$/i.test(fileName) ? jsonSyntaxError(text) : undefined;
  if (notJson) refuse(notJson.offset, `${notJson.message} (a .json config is strict JSON; YAML, which allows more, goes in a .yaml file)`);

  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        const { line, col } = at(error.pos[0]);
        // `[${env:X}]` unquoted: inside [ ] or { }, YAML reads the braces as a mapping.
        const hint = text.startsWith('${', error.pos[0] - 1) ? '; inside [ ] or { }, quote a value that holds ${...}: "${env:NAME}"' : '';
        return { file: fileName, line, column: col, path: '', message: firstLine(error.message) + hint };
      }),
    );
  }

  const substitution = text.includes('${env:') ? substituteEnv(doc, options.env ?? (() => undefined)) : undefined;
  const envProblems = substitution?.problems ?? [];

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // yaml finds an alias without its anchor, or too many aliases, only while converting.
    const { line, col } = at(firstAliasOffset(doc));
    throw new ConfigError([{ file: fileName, line, column: col, path: '', message: firstLine((error as Error).message) }], { cause: error });
  }
  if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data))) {
    refuse(doc.contents?.range?.[0] ?? 0, `the config must be a mapping with hosts and/or paths at the top level, not ${Array.isArray(data) ? 'a list' : 'a single value'}`);
  }
  let result = v.safeParse(configSchema, data ?? {});
  if (!result.success && substitution && retypeWhole(data, substitution, result.issues)) result = v.safeParse(configSchema, data ?? {});
  if (result.success && envProblems.length === 0) {
    return {
      config: result.output,
      locate(path) {
        const { line, col } = at(findNode(doc, [...path])?.range?.[0] ?? 0);
        return { line, column: col };
      },
    };
  }

  const envIssues = envProblems.map((problem) => describeEnvProblem(problem, fileName, at));
  // A value whose variable is missing was not substituted: what the schema says of it is noise.
  const unfilled = envIssues.map((issue) => issue.path);
  const issues = (result.issues ?? [])
    .flatMap(throughUnions)
    .map((issue) => describeIssue(issue, doc, fileName, at))
    .filter((issue) => !unfilled.some((path) => issue.path === path || issue.path.startsWith(`${path}.`) || issue.path.startsWith(`${path}[`)));
  throw new ConfigError(inFileOrder([...envIssues, ...issues]));
}

/**
 * A union that fails reports one issue of its own, with each branch's issues inside, their paths
 * relative to the union. When a branch went inside the value (an object with a bad or unknown key),
 * that branch's issues say more than "expected A or B": report them, at their full path.
 */
function throughUnions(issue: v.BaseIssue<unknown>): v.BaseIssue<unknown>[] {
  const inner = issue.type === 'union' ? (issue.issues ?? []).filter((sub) => (sub.path?.length ?? 0) > 0) : [];
  if (inner.length === 0) return [issue];
  return inner.flatMap((sub) => throughUnions({ ...sub, path: [...(issue.path ?? []), ...(sub.path ?? [])] } as v.BaseIssue<unknown>));
}

type PathItem = { key: unknown; origin?: 'key' | 'value' };

/**
 * Where the schema refused a value that was one `${env:...}` alone and spells a number or a
 * boolean, puts that number or boolean in its place: the environment only holds text.
 * @returns whether any value changed
 */
function retypeWhole(data: unknown, substitution: Substitution, issues: readonly v.BaseIssue<unknown>[]): boolean {
  const refused = new Set(issues.flatMap((issue) => [issue, ...throughUnions(issue)]).map((issue) => formatPath(((issue.path ?? []) as PathItem[]).map((item) => item.key))));
  let changed = false;
  for (const { path, text } of substitution.whole) {
    const typed = typedValue(text);
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], data);
    if (typed === undefined || !refused.has(formatPath(path)) || typeof parent !== 'object' || parent === null) continue;
    (parent as Record<string | number, unknown>)[path.at(-1)!] = typed;
    changed = true;
  }
  return changed;
}

function describeEnvProblem(problem: EnvProblem, file: string, at: (offset: number) => { line: number; col: number }): ConfigIssue {
  const { line, col } = at(problem.node.range?.[0] ?? 0);
  return { file, line, column: col, path: formatPath(problem.path), message: problem.message };
}

function describeIssue(
  issue: v.BaseIssue<unknown>,
  doc: Document,
  file: string,
  at: (offset: number) => { line: number; col: number },
): ConfigIssue {
  const items = (issue.path ?? []) as PathItem[];
  const keys = items.map((item) => item.key);
  const isUnknownKey = issue.expected === 'never' && items.at(-1)?.origin === 'key';
  const node = isUnknownKey ? findKeyNode(doc, keys) : findNode(doc, keys);
  const { line, col } = at(node?.range?.[0] ?? 0);
  const message = isUnknownKey ? unknownKeyMessage(String(keys.at(-1)), objectKeysAt(keys.slice(0, -1))) : describeMessage(issue);
  return { file, line, column: col, path: formatPath(keys), message };
}

function unknownKeyMessage(key: string, known: string[]): string {
  const guess = suggest(key, known);
  return guess ? `unknown key "${key}"; did you mean "${guess}"?` : `unknown key "${key}"; expected one of ${known.join(', ')}`;
}

type SchemaNode = { type?: string; pipe?: SchemaNode[]; wrapped?: SchemaNode; item?: SchemaNode; options?: SchemaNode[]; entries?: Record<string, SchemaNode>; value?: SchemaNode };

/** The keys the schema allows in the object at `keys`, found by walking the schema itself. */
function objectKeysAt(keys: unknown[]): string[] {
  let nodes: SchemaNode[] = [configSchema as unknown as SchemaNode];
  for (const key of [...keys, undefined]) {
    nodes = nodes.flatMap(unwrap);
    if (key === undefined) break;
    nodes = nodes.flatMap((node) =>
      // A record's every key holds its `value` schema (`match.headers.NAME`).
      typeof key === 'number' ? (node.item ? [node.item] : []) : node.entries?.[String(key)] ? [node.entries[String(key)]] : node.type === 'record' && node.value ? [node.value] : [],
    );
  }
  return [...new Set(nodes.flatMap((node) => Object.keys(node.entries ?? {})))];
}

function unwrap(node: SchemaNode): SchemaNode[] {
  if (node.wrapped) return unwrap(node.wrapped);
  if (node.options) return node.options.flatMap(unwrap);
  return [node];
}

function describeMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.received === 'undefined' && issue.kind === 'schema' && issue.expected?.startsWith('"')) {
    return `missing required key ${issue.expected}`;
  }
  return issue.message.startsWith('Invalid ') ? `expected ${issue.expected}, got ${issue.received}` : issue.message;
}

function findNode(doc: Document, keys: unknown[]): Node | undefined {
  for (let depth = keys.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(keys.slice(0, depth), true);
    if (node && typeof node === 'object' && 'range' in node) return node as Node;
  }
  return undefined;
}

function findKeyNode(doc: Document, keys: unknown[]): Node | undefined {
  const parent = keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true);
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.value === keys.at(-1)) return pair.key;
    }
  }
  return findNode(doc, keys.slice(0, -1));
}

export function formatPath(keys: readonly unknown[]): string {
  return keys.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('');
}

function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
