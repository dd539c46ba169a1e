import * as v from 'valibot';
import { duration } from './common.ts';
import { timeouts } from './pool.ts';

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

const bounded = (min: number, max: number) => v.pipe(size, v.check((bytes) => bytes >= min && bytes <= max, `expected a size from ${min} bytes to ${max / 1024} KiB`));

/**
 * How much of a request the balancer reads before it refuses it. Sizes bound the work and memory
 * one request can cost; the defaults are nginx's and Node's.
 */
export const limits = v.strictObject({
  /** The request-target (path and query): longer ones are answered 414 URI Too Long. */
  max_request_target: v.optional(bounded(64, 1024 * 1024)),
  /** The whole request head (request line and header fields): larger ones are answered 431. */
  max_header_size: v.optional(bounded(1024, 1024 * 1024)),
  /** Header fields in a request: more are answered 431. */
  max_header_count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000))),
});

/**
 * The top level's `timeouts`: the pool's (toward backends, also settable per route) and the
 * client-side ones, which belong to connections and so exist only here.
 */
export const serverTimeouts = v.strictObject({
  ...timeouts.entries,
  /** From a connection's first byte of a request (or its opening) until the request head is complete. */
  client_header: v.optional(duration),
  /** How long a keep-alive connection may wait for its next request. */
  client_idle: v.optional(duration),
  /** Longest pause between two chunks of a request body the balancer is waiting for. */
  client_body: v.optional(duration),
  /** Longest time a client may take to accept more of its response before it is cut off. */
  client_send: v.optional(duration),
});
