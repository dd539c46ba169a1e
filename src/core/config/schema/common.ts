import * as v from 'valibot';
import { parseDuration } from '../duration.ts';
import { TOKEN } from '../../httpToken.ts';
import { MAX_TIMER_MS } from '../../timers.ts';
import { wholeNumberPattern } from './wholeNumberPattern.ts';

/**
 * A rule the pipe checks in code, restated in JSON Schema keywords for editors: valibot ignores
 * it, and the JSON Schema generator (scripts/configJsonSchema.js) lays the keywords over the ones
 * it generated for the pipe, replacing them, except `allOf`, which is added to. The code stays the
 * judge; this only lets an editor flag the mistake where it is typed.
 */
export function jsonSchemaRule<TInput>(keywords: Record<string, unknown>): v.MetadataAction<TInput, { readonly jsonSchema: Record<string, unknown> }> {
  return v.metadata({ jsonSchema: keywords });
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration's JSON Schema pattern: not zero, and no more whole units than the longest timer holds
 * (a fraction past the last whole unit, such as `596.9h`, is left to the check).
 */
const DURATION_PATTERN = `^(?!0+(?:\\.0+)?[a-z]+$)(?:${Object.entries(UNIT_MS)
  .map(([unit, ms]) => `0*(?:${wholeNumberPattern(0, Math.floor(MAX_TIMER_MS / ms))})(?:\\.\\d+)?${unit}`)
  .join('|')})$`;

/** A duration written with its unit: `250ms`, `5s`, `2m`, `1h`; from 1 ms to about 24 days. */
export const duration = v.pipe(
  v.string('expected a duration such as "5s" or "250ms"'),
  v.regex(/^\d+(?:\.\d+)?(?:ms|s|m|h)$/, (issue) => `${JSON.stringify(issue.input)} is not a duration; write it like "5s" or "250ms"`),
  v.transform((text) => parseDuration(text) as number),
  v.check((ms) => ms >= 1 && ms <= MAX_TIMER_MS, 'a duration is at least 1ms and at most 596h'),
  jsonSchemaRule({ pattern: DURATION_PATTERN }),
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
export const stringMap = v.record(v.string(), textValue());

/**
 * A text value, where YAML's unquoted whole numbers and booleans are taken as text (`canary: 1`).
 * @param message the error for a value of another type
 */
export function textValue(message = 'expected a text value') {
  return v.pipe(
    v.union([v.string(), v.number(), v.boolean()], message),
    v.check((value) => typeof value !== 'number' || (Number.isSafeInteger(value) && value >= 0), (issue) => `${String(issue.input)} would lose its spelling; write it in quotes`),
    jsonSchemaRule({ anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'boolean' }] }),
    v.transform(String),
  );
}

/** A list of names, or a map whose keys are the names (the tutorial writes `remove: { Host: www.mango.com }`). */
export const nameList = v.union(
  [v.array(v.string()), v.pipe(v.record(v.string(), v.unknown()), v.transform((map) => Object.keys(map)))],
  'expected a list of names, or a map whose keys are the names',
);
