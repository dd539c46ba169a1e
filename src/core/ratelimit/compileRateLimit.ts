import { clientIpOf } from '../firewall/clientIp.ts';
import * as answers from '../answers.ts';
import type { Answer } from '../Answer.ts';
import type { Exchange, SharedLimit } from '../Route.ts';
import { RateLimiter } from './RateLimiter.ts';
import { prefixMask } from '../firewall/ipAddress.ts';
import type { RateLimitStore } from '../RateLimitStore.ts';
import { hash32 } from '../balancing/hash32.ts';

/** `rate_limit`, as the config schema reads it (durations in milliseconds). */
export interface RateLimitRules {
  /** Requests let through per `per`, on average. */
  readonly requests: number;
  readonly per: number;
  /** Requests let through at once. @default requests */
  readonly burst?: number;
  /** What a bucket belongs to. @default 'client_address' */
  readonly key?: 'client_address' | { readonly header: string };
  /** @default DEFAULT_MAX_KEYS */
  readonly max_keys?: number;
  /** @default DEFAULT_IPV6_PREFIX */
  readonly ipv6_prefix?: number;
}

/** IPv6 clients are keyed by their /64 by default: one subscriber usually holds a whole /64. */
export const DEFAULT_IPV6_PREFIX = 64;


/** Longer header values share one bucket, so random huge keys cannot fill memory. */
export const MAX_HEADER_KEY_LENGTH = 256;

/** A compiled `rate_limit`: its policy in words, and the check (dry, it looks at the bucket and takes no token). */
export interface RateLimit {
  readonly summary: string;
  readonly check: (exchange: Exchange, dry?: boolean) => Answer | undefined;
  /** With a store: how to ask it (the `Guard`'s `shared`). */
  readonly shared?: SharedLimit;
}

/** Where a limit is shared: the store, and what the limit applies to (the top level, or a route's host, path and match). */
export interface SharedLimitOptions {
  readonly store: RateLimitStore;
  readonly scope: string;
}

/**
 * The shared limit's name in the store: a hash of what it applies to and of its own settings,
 * never where it is written. Two instances of a rolling deploy, or a reload that inserts a route,
 * then share a bucket only for the same route with the same limit; a changed limit starts afresh
 * rather than reading a bucket another policy left.
 */
export function sharedLimitName(scope: string, rules: RateLimitRules): string {
  const identity = JSON.stringify([scope, rules.requests, rules.per, rules.burst ?? rules.requests, rules.key ?? 'client_address', rules.ipv6_prefix ?? DEFAULT_IPV6_PREFIX]);
  return hash32(identity, 1).toString(16).padStart(8, '0') + hash32(identity, 2).toString(16).padStart(8, '0');
}

/**
 * Compiles `rate_limit` into a check that answers 429 Too Many Requests (RFC 6585 section 4)
 * with `Retry-After` in whole seconds (RFC 9110 section 10.2.3). Buckets live in this process's
 * memory: per process on Node and Deno, per isolate on Workers; or, given a shared store, in the
 * store, with local buckets holding `fallbackShare` of the limit for when it cannot answer.
 * @param now the clock in milliseconds; @default performance.now
 */
export function compileRateLimit(rules: RateLimitRules | undefined, now?: () => number, sharedIn?: SharedLimitOptions): RateLimit | undefined {
  if (!rules) return undefined;
  const share = sharedIn?.store.fallbackShare ?? 1;
  const limiter = new RateLimiter({ capacity: Math.max(1, (rules.burst ?? rules.requests) * share), refillPerMs: (rules.requests * share) / rules.per }, { maxKeys: rules.max_keys, now });
  const key = rules.key ?? 'client_address';
  const header = typeof key === 'object' ? key.header.toLowerCase() : undefined;
  const ipv6Mask = prefixMask(rules.ipv6_prefix ?? DEFAULT_IPV6_PREFIX);

  const burst = rules.burst ?? rules.requests;
  const keyOf = (exchange: Exchange) => {
    const value = header === undefined ? null : exchange.headers.get(header);
    return value === null ? addressKey(exchange, ipv6Mask) : headerKey(value);
  };
  const summary = `${rules.requests} requests per ${rules.per} ms, bursts of ${burst}, one bucket per ${header === undefined ? 'client address' : `${header} header (else client address)`}`;
  const local: RateLimit = {
    summary,
    check(exchange, dry) {
      const key = keyOf(exchange);
      const wait = dry ? limiter.peek(key) : limiter.take(key);
      if (wait === 0) return undefined;
      return answers.tooManyRequests(wait);
    },
  };
  if (!sharedIn) return local;
  const { store } = sharedIn;
  const name = sharedLimitName(sharedIn.scope, rules);
  const policy = { requests: rules.requests, perMs: rules.per, burst };
  return {
    summary: `${summary}, shared by every instance (store); explain looks at this instance's fallback bucket only`,
    // Dry, the shared bucket is not consulted: a peek would cost a round trip for a guess.
    check: (exchange) => answerOf(limiter.peek(keyOf(exchange))),
    shared: {
      store,
      bucket: (exchange) => ({ limit: name, key: keyOf(exchange), policy }),
      answer: (bucket, wait) => answerOf(wait ?? limiter.take(bucket.key)),
    },
  };
}

function answerOf(wait: number): Answer | undefined {
  return wait === 0 ? undefined : answers.tooManyRequests(wait);
}

function headerKey(value: string): string {
  return value.length > MAX_HEADER_KEY_LENGTH ? 'header-too-long' : `header:${value}`;
}


/**
 * One bucket per address, whatever its spelling (`::ffff:10.0.0.1` is `10.0.0.1`), IPv6 addresses
 * grouped by `ipv6_prefix`; one bucket for all clients whose address is unknown.
 */
function addressKey(exchange: Exchange, ipv6Mask: bigint): string {
  const address = clientIpOf(exchange);
  if (address === undefined) return `address:${exchange.clientAddress ?? 'unknown'}`;
  const isIpv4 = address >> 32n === 0xffffn; // IPv4-mapped, ::ffff:0:0/96
  return `ip:${(isIpv4 ? address : address & ipv6Mask).toString(16)}`;
}
