import * as v from 'valibot';
import { parseServerAddress } from '../serverAddress.ts';
import { duration } from './common.ts';

const serverAddress = v.pipe(
  v.string(),
  v.check((text) => typeof parseServerAddress(text) !== 'string', (issue) => parseServerAddress(issue.input as string) as string),
);

/** One `servers` entry: `host:port`, a URL, or `{ url, weight }`. */
export const server = v.union(
  [
    serverAddress,
    v.strictObject({
      url: serverAddress,
      weight: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
    }),
  ],
  'expected "host:port", an http(s) URL, or { url, weight }',
);

export const algorithm = v.picklist(['random'], 'unknown algorithm');

export const timeouts = v.strictObject({
  /** Opening the TCP (and TLS) connection to a backend. */
  connect: v.optional(duration),
  /** From sending the request until the backend's response headers arrive. */
  response_headers: v.optional(duration),
  /** Longest pause between two chunks of the response body. */
  body_idle: v.optional(duration),
});

/** Keys that describe the pool of backends behind a route. */
export const poolEntries = {
  servers: v.pipe(v.array(server), v.minLength(1, 'a route needs at least one server')),
  algorithm: v.optional(algorithm),
  timeouts: v.optional(timeouts),
};

/** Pool keys that may also be set once at the top level, as defaults for every route. */
export const poolDefaultEntries = {
  algorithm: v.optional(algorithm),
  timeouts: v.optional(timeouts),
};
