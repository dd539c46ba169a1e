import * as v from 'valibot';
import { poolName } from './target.ts';

/** `mirror`: a copy of a share of a route's requests, sent to a named pool, its answer thrown away. */
export const mirror = v.strictObject({
  pool: v.pipe(poolName, v.description('The pool of the top-level `pools` map the copies go to.')),
  percent: v.optional(
    v.pipe(
      v.number('expected a percentage from 0 to 100'),
      v.minValue(0, 'expected a percentage from 0 to 100'),
      v.maxValue(100, 'expected a percentage from 0 to 100'),
      v.description('The share of requests copied, 0-100, fractions allowed (default 100).'),
    ),
  ),
});

export const mirrorEntries = {
  mirror: v.optional(
    v.pipe(
      mirror,
      v.description(
        "Copies of a share of the route's requests sent to a named pool as well, their answers thrown away: `{ pool, percent }`; bodies up to `retries.max_buffered_body` only.",
      ),
    ),
  ),
};
