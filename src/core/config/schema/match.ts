import * as v from 'valibot';
import { TOKEN } from '../../httpToken.ts';
import { headerName, jsonSchemaRule, textValue } from './common.ts';

const VALUE_TEST_MESSAGE = 'expected a text value, { regex: PATTERN } or { present: true | false }';

/** What a header, query parameter or cookie must be: a text exactly, `{ regex }`, or `{ present }`. */
const valueTest = v.union(
  [
    textValue(VALUE_TEST_MESSAGE),
    // One object with either key, rather than a union of two, so a typo gets "unknown key" and a suggestion.
    v.pipe(
      v.strictObject({
        regex: v.optional(
          v.pipe(v.string(), v.description('A JavaScript regular expression the value must contain a match of (case-sensitive; anchor it with `^...$` for the whole value).')),
        ),
        present: v.optional(v.pipe(v.boolean(), v.description('`true`: the name must be in the request, with any value; `false`: it must not be.'))),
      }),
      v.check((test) => (test.regex === undefined) !== (test.present === undefined), 'write one of regex or present'),
      jsonSchemaRule({ minProperties: 1, maxProperties: 1 }),
    ),
  ],
  VALUE_TEST_MESSAGE,
);

const token = (what: string) =>
  v.pipe(v.string(), v.regex(TOKEN, (issue) => `${JSON.stringify(issue.input)} is not ${what} (letters, digits and !#$%&'*+-.^_\`|~ only)`));

export const routeMatch = v.strictObject({
  methods: v.optional(
    v.pipe(
      v.array(token('an HTTP method')),
      v.minLength(1, 'methods needs at least one method'),
      v.description('The request methods the route serves, compared in upper case; `GET` serves `HEAD` too.'),
    ),
  ),
  headers: v.optional(
    v.pipe(
      v.record(headerName, valueTest),
      v.description('Request headers, by name (without case), each with its exact value, `{ regex: PATTERN }` or `{ present: true | false }`.'),
    ),
  ),
  query: v.optional(
    v.pipe(
      v.record(v.pipe(v.string(), v.minLength(1, 'a query parameter name is not empty')), valueTest),
      v.description('Query parameters, by name, each with its exact value (percent-decoded, the first occurrence), `{ regex }` or `{ present }`.'),
    ),
  ),
  cookies: v.optional(
    v.pipe(
      v.record(token('a cookie name'), valueTest),
      v.description('Cookies, by name (case-sensitive), each with its exact value (the first cookie of that name), `{ regex }` or `{ present }`.'),
    ),
  ),
});

/** A route's `match`: conditions on the request, all of which must hold. */
export const matchEntries = {
  match: v.optional(
    v.pipe(
      routeMatch,
      v.description('Conditions on the request, all of which must hold: `methods`, `headers`, `query`, `cookies`; a route with more is tried first among routes of one host and path.'),
    ),
  ),
};

export type RouteMatchConfig = v.InferOutput<typeof routeMatch>;
