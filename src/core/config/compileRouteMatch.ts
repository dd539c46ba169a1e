import { compileRegex } from '../compile/compileRegex.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { methodCondition, RouteMatch, valueCondition, type Condition, type ValueTest } from '../routing/RouteMatch.ts';
import type { RouteMatchConfig } from './schema/match.ts';

type ValueTestConfig = NonNullable<RouteMatchConfig['headers']>[string];

/**
 * Compiles a route's `match` (`answersPreflights`: the route has `cors`, see methodCondition): `methods` is one condition, each header, query parameter and
 * cookie named is one more. Header names are compared without case, methods in upper case
 * (methods are case-sensitive, RFC 9110 section 9.1, and every registered one is upper case);
 * values exactly. Patterns are checked for catastrophic backtracking (compileRegex) and matched
 * unanchored and case-sensitively, as `RegExp#test` does.
 * @returns undefined without `match`, or when a pattern is refused (recorded in `problems`)
 */
export function compileRouteMatch(match: RouteMatchConfig | undefined, at: readonly (string | number)[], problems: ConfigProblems, answersPreflights = false): RouteMatch | undefined {
  if (!match) return undefined;
  const conditions: Condition[] = [];
  let refused = false;
  if (match.methods) {
    const methods = new Set(match.methods.map((method) => method.toUpperCase()));
    // As in method_allow: HEAD asks for what GET does, without the body, so they go to one route.
    if (methods.has('GET')) methods.add('HEAD');
    conditions.push(methodCondition(methods, answersPreflights));
  }
  const names = { query: Object.keys(match.query ?? {}), cookies: Object.keys(match.cookies ?? {}) };
  for (const kind of ['headers', 'query', 'cookies'] as const) {
    for (const [name, test] of Object.entries(match[kind] ?? {})) {
      const compiled = problems.attempt(() => valueTest(test, [...at, kind, name]));
      if (compiled === undefined) refused = true;
      else conditions.push(valueCondition(kind, kind === 'headers' ? name.toLowerCase() : name, compiled));
    }
  }
  return refused ? undefined : new RouteMatch(conditions, names);
}

function valueTest(test: ValueTestConfig, at: readonly (string | number)[]): ValueTest {
  if (typeof test === 'string') return { equals: test };
  if (test.regex !== undefined) return { regex: compileRegex(test.regex, '', [...at, 'regex']) };
  return { present: test.present === true };
}
