import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Exchange } from '../Route.ts';
import { compileTemplate, render, type Template } from './template.ts';

/** `param_rules`, as the config schema reads them. */
export interface ParamRules {
  /** The tutorial's word for `set`. */
  readonly add?: Readonly<Record<string, string>>;
  readonly set?: Readonly<Record<string, string>>;
  readonly append?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

/** Returns the query (`?a=1`, or `''`) with the rules applied. */
export type QueryEdit = (exchange: Exchange, query: string) => string;

/**
 * Compiles `param_rules`. The raw query is edited as text: parameters no rule names are kept
 * byte for byte, in their order. Names are compared after decoding (`+` and percent escapes, as
 * `application/x-www-form-urlencoded` has it), so `Remove%4De` is `RemoveMe`; names are
 * case-sensitive. Order: `remove`; `add` and `set` (the tutorial's `add` replaces, like `set`:
 * every occurrence goes and one `name=value` is added at the end); `append` (added at the end,
 * the others kept). Added names and values are percent-encoded; values may hold `${variable}`.
 * A value that cannot be compiled is recorded in `problems`, and the others still compiled.
 * @returns undefined when there are no rules
 */
export function compileParamRules(rules: ParamRules | undefined, at: readonly (string | number)[], problems: ConfigProblems): QueryEdit | undefined {
  if (!rules) return undefined;
  const set = [...compile(rules.add, [...at, 'add'], problems), ...compile(rules.set, [...at, 'set'], problems)];
  const append = compile(rules.append, [...at, 'append'], problems);
  const dropped = new Set([...(rules.remove ?? []), ...set.map(([name]) => name)]);
  if (dropped.size + append.length === 0) return undefined;

  // Each added `name=value`, encoded once here when its value is fixed text.
  const additions = [...set, ...append].map(([name, value]): Template => {
    const prefix = `${encodeURIComponent(name)}=`;
    return typeof value === 'string' ? prefix + encodeURIComponent(value) : (exchange) => prefix + encodeURIComponent(render(value, exchange));
  });

  return (exchange, query) => {
    const pairs = query.length > 1 ? query.slice(1).split('&') : [];
    const kept = dropped.size === 0 ? pairs : pairs.filter((pair) => pair === '' || !dropped.has(decodedName(pair)));
    if (kept.length === pairs.length && additions.length === 0) return query;
    for (const addition of additions) kept.push(render(addition, exchange));
    const joined = kept.join('&');
    return joined === '' ? '' : `?${joined}`;
  };
}

function compile(map: Readonly<Record<string, string>> | undefined, at: readonly (string | number)[], problems: ConfigProblems): [string, Template][] {
  const compiled: [string, Template][] = [];
  for (const [name, value] of Object.entries(map ?? {})) {
    const template = problems.attempt(() => compileTemplate(value, [...at, name]));
    if (template !== undefined) compiled.push([name, template]);
  }
  return compiled;
}

function decodedName(pair: string): string {
  const equals = pair.indexOf('=');
  const raw = (equals === -1 ? pair : pair.slice(0, equals)).replaceAll('+', ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
