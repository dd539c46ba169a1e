import * as v from 'valibot';
import { duration, jsonSchemaRule } from './common.ts';
import { timeouts } from './pool.ts';
import { wholeNumberPattern } from './wholeNumberPattern.ts';

const SIZE = /^(\d+)\s*(B|KiB|MiB|KB|MB|k|K|M)?$/;
const UNIT_BYTES: Record<string, number> = { B: 1, KiB: 1024, KB: 1024, k: 1024, K: 1024, MiB: 1024 * 1024, MB: 1024 * 1024, M: 1024 * 1024 };

/** A size in bytes: a whole number, or text with a unit such as `8KiB` or `1MiB`. */
export const size = v.pipe(
  v.union([v.pipe(v.number(), v.integer()), v.string()], 'expected a size such as 8192 or "8KiB"'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    if (typeof dataset.value === 'number') return dataset.value;
    const match = SIZE.exec(dataset.value.trim());
    if (!match) {
      addIssue({ message: `${JSON.stringify(dataset.value)} is not a size; write it like 8192, "8KiB" or "1MiB"` });
      return NEVER;
    }
    return Number(match[1]) * UNIT_BYTES[match[2] ?? 'B'];
  }),
);

/** The sizes from `min` to `max` bytes, as JSON Schema: a number, or text whose number fits its unit. */
function sizeForEditors(min: number, max: number) {
  const units = Object.entries(UNIT_BYTES).sort(([a], [b]) => b.length - a.length);
  const numerals = [...new Set(units.map(([, bytes]) => bytes))].map((bytes) => {
    const names = units.filter(([, unitBytes]) => unitBytes === bytes).map(([name]) => name);
    const numbers = `0*(?:${wholeNumberPattern(Math.ceil(min / bytes), Math.floor(max / bytes))})`;
    return bytes === 1 ? `${numbers}\\s*(?:B)?` : `${numbers}\\s*(?:${names.join('|')})`;
  });
  return { anyOf: [{ type: 'integer', minimum: min, maximum: max }, { type: 'string', pattern: `^\\s*(?:${numerals.join('|')})\\s*$` }] };
}

/** A size from `min` to `max` bytes, checked in code and for editors. */
export const bounded = (min: number, max: number) =>
  v.pipe(
    size,
    v.check((bytes) => bytes >= min && bytes <= max, `expected a size from ${min} bytes to ${max / 1024} KiB`),
    jsonSchemaRule(sizeForEditors(min, max)),
  );

/**
 * How much of a request the balancer reads before it refuses it. Sizes bound the work and memory
 * one request can cost; the defaults are nginx's and Node's.
 */
export const limits = v.strictObject({
  max_request_target: v.optional(
    v.pipe(bounded(64, 1024 * 1024), v.description('The longest request target (path and query), 64 bytes to `1MiB`: longer ones get 414 (default `8KiB`).')),
  ),
  max_header_size: v.optional(
    v.pipe(bounded(1024, 1024 * 1024), v.description('The largest request head (request line and fields), `1KiB` to `1MiB`: larger ones get 431 (default `16KiB`).')),
  ),
  max_header_count: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000), v.description('The most header fields in a request, 1-10000: more get 431 (default 100).')),
  ),
});

/**
 * The top level's `timeouts`: the pool's (toward backends, also settable per route) and the
 * client-side ones, which belong to connections and so exist only here.
 */
export const serverTimeouts = v.strictObject({
  ...timeouts.entries,
  client_header: v.optional(
    v.pipe(duration, v.description("Longest time from a request's first byte (or the connection's opening) to the end of its head: 408 (default 10s).")),
  ),
  client_idle: v.optional(v.pipe(duration, v.description('How long a keep-alive connection may wait for its next request (default 60s).'))),
  client_body: v.optional(v.pipe(duration, v.description('Longest pause in a request body the balancer is waiting for: 408 (default 60s).'))),
  client_send: v.optional(v.pipe(duration, v.description('Longest time a client may take no more of its response before it is cut off (default 60s).'))),
});
