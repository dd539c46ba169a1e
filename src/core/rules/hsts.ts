import type { ResponseRewrite } from '../Route.ts';

/**
 * `hsts`: sets `Strict-Transport-Security` on responses to HTTPS requests only; a user agent must
 * ignore it over plain HTTP, where anyone on the path could have added it (RFC 6797 section 7.2).
 */
export function hstsRewrite(value: string): ResponseRewrite {
  const trimmed = value.trim();
  return (exchange, headers) => {
    if (exchange.scheme === 'https') headers.set('strict-transport-security', trimmed);
  };
}
