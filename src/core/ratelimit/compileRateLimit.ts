import type { Config } from '../config/schema/index.ts';
import { parseIpAddress } from '../firewall/ipAddress.ts';
import { plainResponse } from '../responses.ts';
import type { Exchange, Guard } from '../Route.ts';
import { RateLimiter } from './RateLimiter.ts';

type RateLimitRules = NonNullable<Config['rate_limit']>;

/**
 * Compiles `rate_limit` into a guard that answers 429 Too Many Requests (RFC 6585 section 4)
 * with `Retry-After` in whole seconds (RFC 9110 section 10.2.3). Buckets live in this process's
 * memory: per process on Node and Deno, per isolate on Workers.
 * @param now the clock in milliseconds; @default performance.now
 */
export function compileRateLimit(rules: RateLimitRules | undefined, now?: () => number): Guard | undefined {
  if (!rules) return undefined;
  const limiter = new RateLimiter({ capacity: rules.burst ?? rules.requests, refillPerMs: rules.requests / rules.per }, { maxKeys: rules.max_keys, now });
  const key = rules.key ?? 'client_address';
  const header = typeof key === 'object' ? key.header.toLowerCase() : undefined;

  return (exchange) => {
    const value = header === undefined ? null : exchange.request.headers.get(header);
    const wait = limiter.take(value === null ? addressKey(exchange) : `header:${value}`);
    if (wait === 0) return undefined;
    return plainResponse(429, 'Too Many Requests', { 'retry-after': String(Math.ceil(wait / 1000)) });
  };
}

/** One bucket per address, whatever its spelling (`::ffff:10.0.0.1` is `10.0.0.1`); one for all unknown. */
function addressKey(exchange: Exchange): string {
  const text = exchange.clientAddress;
  const address = text === undefined ? undefined : parseIpAddress(text);
  return address === undefined ? `address:${text ?? 'unknown'}` : `ip:${address.toString(16)}`;
}
