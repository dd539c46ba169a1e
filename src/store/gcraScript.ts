/**
 * The Generic Cell Rate Algorithm as one atomic Redis script: one round trip per limited request,
 * on Redis's clock (`TIME`), so the instances' clocks never matter. Same policy as the local
 * `TokenBucket` (src/core/ratelimit): bursts of `burst`, then one request every `emission_ms`.
 * The key holds the theoretical arrival time (TAT) in milliseconds and expires once it is in the
 * past, when a fresh key means the same (a full bucket). After go-redis/redis_rate's `lua.go`
 * (from rwz/redis-gcra).
 *
 * KEYS[1] the bucket; ARGV[1] emission interval in ms (`per / requests`), ARGV[2] burst (≥ 1).
 * Returns `{0, 0}` when the request passes, else `{1, ms until it would}` (at least 1).
 */
export const GCRA_SCRIPT = `
local emission = tonumber(ARGV[1])
local tolerance = emission * tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + emission
local allow_at = new_tat - tolerance
if now < allow_at then
  return {1, math.max(1, math.ceil(allow_at - now))}
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return {0, 0}
`;

/** The script's arguments for a limit of `requests` per `perMs`, bursts of `burst`. */
export function gcraArguments(policy: { readonly requests: number; readonly perMs: number; readonly burst: number }): [string, string] {
  return [String(policy.perMs / policy.requests), String(policy.burst)];
}

/** The script's reply read: 0 when the request passes, else the milliseconds until it would. */
export function gcraWait(reply: unknown): number {
  if (!Array.isArray(reply) || reply.length !== 2) throw new TypeError(`unexpected GCRA reply ${JSON.stringify(reply)}`);
  return Number(reply[0]) === 0 ? 0 : Math.max(1, Number(reply[1]));
}
