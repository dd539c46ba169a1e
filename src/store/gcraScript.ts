import type { SharedPolicy } from '../core/RateLimitStore.ts';

/**
 * The Generic Cell Rate Algorithm as one atomic Redis script over every shared limit of a request
 * (the top level's and the route's): one round trip per limited request, on Redis's clock
 * (`TIME`), so the instances' clocks never matter. Same policy as the local `TokenBucket`
 * (src/core/ratelimit): bursts of `burst`, then one request every `emission_ms`. Each key holds
 * its theoretical arrival time (TAT) in milliseconds and expires once it is in the past, when a
 * fresh key means the same (a full bucket). The request is admitted only if every bucket admits
 * it, and then spends a token of each; a refusal by any spends nothing. After go-redis/redis_rate's
 * `lua.go` (from rwz/redis-gcra). The keys of one call must live on one Redis (no Cluster).
 *
 * KEYS[i] the buckets; ARGV[2i-1] bucket i's emission interval in ms (`per / requests`), ARGV[2i]
 * its burst (≥ 1). Returns one wait per key: 0 where the bucket admits, else the ms until it
 * would (at least 1).
 */
export const GCRA_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local waits = {}
local tats = {}
local refused = false
for i = 1, #KEYS do
  local emission = tonumber(ARGV[2 * i - 1])
  local tolerance = emission * tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat + emission
  local allow_at = tats[i] - tolerance
  if now < allow_at then
    waits[i] = math.max(1, math.ceil(allow_at - now))
    refused = true
  else
    waits[i] = 0
  end
end
if not refused then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.max(1, math.ceil(tats[i] - now)))
  end
end
return waits
`;

/** The script's arguments for the limits of its keys, in their order. */
export function gcraArguments(policies: readonly SharedPolicy[]): string[] {
  return policies.flatMap((policy) => [String(policy.perMs / policy.requests), String(policy.burst)]);
}

/** The script's reply read: one wait per key, 0 where the bucket admits. Throws on any other reply. */
export function gcraWaits(reply: unknown, keys: number): number[] {
  if (!Array.isArray(reply) || reply.length !== keys || !reply.every((wait) => Number.isFinite(Number(wait)) && Number(wait) >= 0)) {
    throw new TypeError(`unexpected GCRA reply ${JSON.stringify(reply)?.slice(0, 100)}`);
  }
  return reply.map((wait) => (Number(wait) === 0 ? 0 : Math.max(1, Number(wait))));
}
