import * as v from 'valibot';
import { parseDuration } from '../duration.ts';
import { TOKEN } from '../../httpToken.ts';
import { MAX_TIMER_MS } from '../../timers.ts';


/** A duration written with its unit: `250ms`, `5s`, `2m`, `1h`; from 1 ms to about 24 days. */
export const duration = v.pipe(
  v.string('expected a duration such as "5s" or "250ms"'),
  v.regex(/^\d+(?:\.\d+)?(?:ms|s|m|h)$/, (issue) => `${JSON.stringify(issue.input)} is not a duration; write it like "5s" or "250ms"`),
  v.transform((text) => parseDuration(text) as number),
  v.check((ms) => ms >= 1 && ms <= MAX_TIMER_MS, 'a duration is at least 1ms and at most 596h'),
);

/** A header field name: a token (RFC 9110 section 5.1). */
export const headerName = v.pipe(
  v.string(),
  v.regex(TOKEN, (issue) => `${JSON.stringify(issue.input)} is not a header name (letters, digits and !#$%&'*+-.^_\`|~ only)`),
);

/**
 * A map of names to string values, as in `add: { MyCustomHeader: Test }`. Whole numbers and
 * booleans are taken as text; other numbers must be quoted, since YAML would change their
 * spelling (`1.10` reads as 1.1, `0x10` as 16).
 */
export const stringMap = v.record(
  v.string(),
  v.pipe(
    v.union([v.string(), v.number(), v.boolean()], 'expected a text value'),
    v.check((value) => typeof value !== 'number' || (Number.isSafeInteger(value) && value >= 0), (issue) => `${String(issue.input)} would lose its spelling; write it in quotes`),
    v.transform(String),
  ),
);

/** A list of names, or a map whose keys are the names (the tutorial writes `remove: { Host: www.mango.com }`). */
export const nameList = v.union(
  [v.array(v.string()), v.pipe(v.record(v.string(), v.unknown()), v.transform((map) => Object.keys(map)))],
  'expected a list of names, or a map whose keys are the names',
);
