import type { MatchRequest } from './MatchRequest.ts';

/** What a header, query parameter or cookie must be: this text exactly, a match of a pattern, or there (or not). */
export type ValueTest = { readonly equals: string } | { readonly regex: RegExp } | { readonly present: boolean };

/** One condition of a route's `match`, named as the config writes it: `methods`, `headers.x-canary`, `cookies.canary`. */
export interface Condition {
  readonly field: string;
  /** What the condition reads of a request: the method, or a value (undefined when absent). */
  read(request: MatchRequest): string | undefined;
  /** Whether what was read passes. */
  passes(value: string | undefined): boolean;
  /** The condition in words, such as `headers.x-canary = "1"`. */
  readonly description: string;
  /** Equal for conditions no request can tell apart. */
  readonly identity: string;
}

/** Why a request did not match: the first condition it failed, and what the request had instead. */
export interface MatchFailure {
  readonly condition: Condition;
  /** The value read (undefined: absent). */
  readonly actual: string | undefined;
}

/**
 * The compiled `match` of a route: conditions that must all hold. Pure: `failure` says which
 * condition a request fails and with what value, so `explain` can show it, and `holds` is that
 * answer's yes or no.
 */
export class RouteMatch {
  readonly conditions: readonly Condition[];
  /** Two routes of one host and path with equal keys can never be told apart. */
  readonly key: string;
  /** Query parameter and cookie names the conditions read. */
  readonly queryNames: readonly string[];
  readonly cookieNames: readonly string[];

  constructor(conditions: readonly Condition[], names: { query: readonly string[]; cookies: readonly string[] }) {
    this.conditions = conditions;
    this.key = JSON.stringify(conditions.map((condition) => condition.identity).sort());
    this.queryNames = names.query;
    this.cookieNames = names.cookies;
  }

  /** How many conditions: with more, a route of the same host and path is tried first. */
  get count(): number {
    return this.conditions.length;
  }

  /** The first condition `request` fails, in the order written, or undefined when all hold. */
  failure(request: MatchRequest): MatchFailure | undefined {
    for (const condition of this.conditions) {
      const actual = condition.read(request);
      if (!condition.passes(actual)) return { condition, actual };
    }
    return undefined;
  }

  holds(request: MatchRequest): boolean {
    for (const condition of this.conditions) if (!condition.passes(condition.read(request))) return false;
    return true;
  }
}

/**
 * The `methods` condition: one of `methods` (upper case; `GET` brings `HEAD`, as it does in
 * `method_allow`). On a route whose `cors` answers preflights, a preflight is read as the method it
 * asks about, so that it reaches that route and its `cors` answers it (routed as OPTIONS, it would
 * fall through to another route); elsewhere an OPTIONS is an OPTIONS.
 */
export function methodCondition(methods: ReadonlySet<string>, answersPreflights = false): Condition {
  return {
    field: 'methods',
    read: answersPreflights ? (request) => request.preflightFor ?? request.method : (request) => request.method,
    passes: (method) => method !== undefined && methods.has(method),
    description: `methods in ${[...methods].sort().join(', ')}`,
    identity: JSON.stringify(['methods', [...methods].sort()]),
  };
}

/** A condition on a header (`name` lower case), a query parameter or a cookie. */
export function valueCondition(kind: 'headers' | 'query' | 'cookies', name: string, test: ValueTest): Condition {
  const read: Condition['read'] =
    kind === 'headers' ? (request) => request.header(name) ?? undefined : kind === 'query' ? (request) => request.queryParam(name) : (request) => request.cookie(name);
  const field = `${kind}.${name}`;
  const identity = (operator: string, operand: unknown) => JSON.stringify([kind, name, operator, operand]);
  if ('equals' in test) {
    return { field, read, passes: (value) => value === test.equals, description: `${field} = ${JSON.stringify(test.equals)}`, identity: identity('=', test.equals) };
  }
  if ('regex' in test) {
    return { field, read, passes: (value) => value !== undefined && test.regex.test(value), description: `${field} ~ /${test.regex.source}/`, identity: identity('~', test.regex.source) };
  }
  return { field, read, passes: (value) => (value !== undefined) === test.present, description: `${field} ${test.present ? 'present' : 'absent'}`, identity: identity('present', test.present) };
}
