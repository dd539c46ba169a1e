import type { Exchange } from '../Route.ts';

const ids = new WeakMap<Exchange, string>();

/**
 * The request's id: a random UUID (RFC 9562) made the first time a rule asks for it, so the
 * request and response rules of one exchange see the same id.
 */
export function requestIdOf(exchange: Exchange): string {
  let id = ids.get(exchange);
  if (id === undefined) ids.set(exchange, (id = crypto.randomUUID()));
  return id;
}
