import { isMap, isScalar, isSeq, type Document, type Node } from 'yaml';

/**
 * Looks an environment variable up: each entry point passes its own (the process environment on
 * Node and Deno, the Worker's bindings on Workers), so the core never reads one itself.
 * @returns undefined when the variable is not set
 */
export type Environment = (name: string) => string | undefined;

/** A reference the environment cannot fill, at the value that holds it. */
export interface EnvProblem {
  readonly node: Node;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What substitution did to a document. */
export interface Substitution {
  /** One per variable that is unset without a default, or per malformed reference. */
  readonly problems: EnvProblem[];
  /** The values that were one reference alone, filled: they may stand for a number or a boolean. */
  readonly whole: { readonly path: readonly (string | number)[]; readonly text: string }[];
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${env:NAME}` and `${env:NAME:-default}` in every string value of the parsed document,
 * in place, before it is validated; keys are left as written. As in a shell, the default stands in
 * when the variable is unset or empty. `$${env:` is a literal `${env:`. In the values of
 * `header_rules`, `response_header_rules` and `param_rules`, templates expanded per request
 * (src/core/rules/template.ts), the variable's text is inserted with each `$` doubled, so it stays
 * literal there, and `$${env:` is left for the template, whose `$$` is a literal `$` too.
 * @example substituteEnv(doc, (name) => process.env[name]) // `${env:BACKEND}` -> "10.0.0.5:8080"
 */
export function substituteEnv(doc: Document, env: Environment): Substitution {
  const problems: EnvProblem[] = [];
  const whole: Substitution['whole'] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        walk(pair.value, [...path, typeof key === 'number' ? String(key) : (key as string)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${env:')) {
      const expanded = expandEnv(node.value, env, isTemplateField(path));
      if (expanded.problems.length === 0 && WHOLE_REFERENCE.test(node.value)) whole.push({ path, text: expanded.text });
      node.value = expanded.text;
      for (const message of expanded.problems) problems.push({ node, path, message });
    }
  };
  walk(doc.contents, []);
  return { problems, whole };
}

const WHOLE_REFERENCE = /^\$\{env:[^}]*\}$/;
const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * The number or boolean a filled value spells (as YAML would read it unquoted), for a field that
 * wants one: `weight: "${env:WEIGHT:-1}"` is a weight of 1. Undefined when it spells neither.
 */
export function typedValue(text: string): number | boolean | undefined {
  const trimmed = text.trim();
  if (NUMBER.test(trimmed)) return Number(trimmed);
  if (/^(?:true|True|TRUE)$/.test(trimmed)) return true;
  if (/^(?:false|False|FALSE)$/.test(trimmed)) return false;
  return undefined;
}

/**
 * The text with its `${env:...}` references replaced, and what could not be replaced (left as
 * written).
 * @param template whether the text is a per-request template, where `$` must stay literal
 */
export function expandEnv(text: string, env: Environment, template = false): { text: string; problems: string[] } {
  const problems: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${env:', i);
    if (start === -1) break;
    if (isEscaped(text, start, template)) {
      // A literal `${env:`: the escaping `$` goes, except in a template, which unescapes it itself.
      out += template ? text.slice(i, start + 6) : `${text.slice(i, start - 1)}\${env:`;
      i = start + 6;
      continue;
    }
    out += text.slice(i, start);
    const close = text.indexOf('}', start);
    if (close === -1) {
      problems.push(`"${text.slice(start)}" opens "\${env:" without closing it with "}"; write "$\${env:" for a literal "\${env:"`);
      out += text.slice(start);
      i = text.length;
      break;
    }
    const reference = text.slice(start, close + 1);
    const inner = text.slice(start + 6, close);
    const split = inner.indexOf(':-');
    const name = split === -1 ? inner : inner.slice(0, split);
    const fallback = split === -1 ? undefined : inner.slice(split + 2);
    const value = VARIABLE_NAME.test(name) ? env(name) : undefined;
    if (!VARIABLE_NAME.test(name)) {
      problems.push(`${reference}: "${name}" is not a variable name (letters, digits and _, not starting with a digit)`);
      out += reference;
    } else if (value !== undefined && (value !== '' || fallback === undefined)) {
      out += template ? literalInTemplate(value) : value;
    } else if (fallback !== undefined) {
      out += template ? literalInTemplate(fallback) : fallback;
    } else {
      problems.push(`${reference} is not set`);
      out += reference;
    }
    i = close + 1;
  }
  return { text: out + text.slice(i), problems };
}

/** Text a template reads as it is: each `$` doubled. */
function literalInTemplate(text: string): string {
  return text.split('$').join('$$');
}

/**
 * Whether the `${env:` at `start` is meant literally: after a `$` (`$${env:`); in a template, after
 * an odd run of them, since there `$$` is a literal `$` already.
 */
function isEscaped(text: string, start: number, template: boolean): boolean {
  let run = 0;
  while (start - run > 0 && text[start - run - 1] === '$') run++;
  return template ? run % 2 === 1 : run > 0;
}

const TEMPLATE_RULES = new Set(['header_rules', 'response_header_rules', 'param_rules']);
const TEMPLATE_KINDS = new Set(['add', 'set', 'append']);

/** Whether the value at `path` is a per-request template: `*_rules.{add,set,append}.NAME`. */
function isTemplateField(path: readonly (string | number)[]): boolean {
  return path.length >= 3 && TEMPLATE_RULES.has(String(path.at(-3))) && TEMPLATE_KINDS.has(String(path.at(-2)));
}
