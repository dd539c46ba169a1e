import * as v from 'valibot';
import { parseDuration } from '../duration.ts';

/** A duration written with its unit: `250ms`, `5s`, `2m`, `1h`. */
export const duration = v.pipe(
  v.string('expected a duration such as "5s" or "250ms"'),
  v.regex(/^\d+(?:\.\d+)?(?:ms|s|m|h)$/, (issue) => `${JSON.stringify(issue.input)} is not a duration; write it like "5s" or "250ms"`),
  v.transform((text) => parseDuration(text) as number),
);

/** A map of names to string values, as in `add: { MyCustomHeader: Test }`. Numbers and booleans are taken as text. */
export const stringMap = v.record(
  v.string(),
  v.pipe(v.union([v.string(), v.number(), v.boolean()], 'expected a text value'), v.transform(String)),
);

/** A list of names, or a map whose keys are the names (the tutorial writes `remove: { Host: www.mango.com }`). */
export const nameList = v.union(
  [v.array(v.string()), v.pipe(v.record(v.string(), v.unknown()), v.transform((map) => Object.keys(map)))],
  'expected a list of names, or a map whose keys are the names',
);
