import type { HeaderFields } from '../http/HeaderFields.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { isHopByHop } from '../http/hopByHop.ts';
import type { Exchange } from '../Route.ts';
import { compileTemplate, render, type Template } from './template.ts';
import { TOKEN } from '../httpToken.ts';

/** `header_rules` or `response_header_rules`, as the config schema reads them. */
export interface HeaderRules {
  /** The tutorial's word for `set`. */
  readonly add?: Readonly<Record<string, string>>;
  readonly set?: Readonly<Record<string, string>>;
  readonly append?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

/** Changes a set of headers (a request's or a response's) for one exchange. */
export type HeaderEdit = (exchange: Exchange, headers: HeaderFields) => void;

/**
 * Characters no field value may hold: CR, LF and NUL (RFC 9110 section 5.5), and anything past
 * Latin-1, which the Fetch API's Headers refuse (every request would fail).
 */
const FORBIDDEN_IN_VALUE = /[\r\n\0]|[^\u0000-\u00ff]/;

/**
 * Compiles `header_rules` (or `response_header_rules`). Names are case-insensitive. Applied in
 * this order: `remove`, then `add` and `set` (both replace every value already present; `add` is
 * the tutorial's word for it), then `append` (adds a value, keeping those present). Values may
 * hold `${variable}` placeholders. Removing `Host` from a request sends the backend its own
 * `host:port`. A bad name or value, or one that sets a field that frames the message, is recorded
 * in `problems` and the others still compiled.
 * @returns undefined when there are no rules
 */
export function compileHeaderRules(rules: HeaderRules | undefined, at: readonly (string | number)[], problems: ConfigProblems): HeaderEdit | undefined {
  if (!rules) return undefined;
  const remove = (rules.remove ?? []).flatMap((name, i) => problems.attempt(() => checkName(name, [...at, 'remove', i])) ?? []);
  const set = [...compileValues(rules.add, [...at, 'add'], problems), ...compileValues(rules.set, [...at, 'set'], problems)];
  const append = compileValues(rules.append, [...at, 'append'], problems);
  if (remove.length + set.length + append.length === 0) return undefined;

  return (exchange, headers) => {
    for (const name of remove) headers.delete(name);
    for (const [name, value] of set) headers.set(name, render(value, exchange));
    for (const [name, value] of append) headers.append(name, render(value, exchange));
  };
}

function compileValues(map: Readonly<Record<string, string>> | undefined, at: readonly (string | number)[], problems: ConfigProblems): [string, Template][] {
  const compiled: [string, Template][] = [];
  for (const [name, value] of Object.entries(map ?? {})) {
    const entry = problems.attempt(() => compileValue(name, value, [...at, name]));
    if (entry) compiled.push(entry);
  }
  return compiled;
}

function compileValue(name: string, value: string, at: readonly (string | number)[]): [string, Template] {
  const lower = checkName(name, at);
  if (isHopByHop(lower) || lower === 'content-length') {
    throw new ConfigProblem(at, `${name} describes how the message is framed or carried (RFC 9110 sections 7.6.1, 8.6); the balancer sets it`);
  }
  if (FORBIDDEN_IN_VALUE.test(value)) throw new ConfigProblem(at, 'a header value cannot hold CR, LF, NUL (RFC 9110 section 5.5) or characters beyond Latin-1 (the Fetch API refuses them)');
  return [lower, compileTemplate(value.trim(), at)];
}

function checkName(name: string, at: readonly (string | number)[]): string {
  if (!TOKEN.test(name)) throw new ConfigProblem(at, `${JSON.stringify(name)} is not a header name (RFC 9110 section 5.1)`);
  return name.toLowerCase();
}
