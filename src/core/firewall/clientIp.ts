import type { Exchange } from '../Route.ts';
import { parseIpAddress } from './ipAddress.ts';

const parsed = new WeakMap<Exchange, bigint | undefined>();

/**
 * The exchange's client address as a 128-bit number (see `parseIpAddress`), parsed once per
 * request however many rules ask. Undefined when the address is unknown or not an IP address.
 */
export function clientIpOf(exchange: Exchange): bigint | undefined {
  if (parsed.has(exchange)) return parsed.get(exchange);
  const address = exchange.clientAddress === undefined ? undefined : parseIpAddress(exchange.clientAddress);
  parsed.set(exchange, address);
  return address;
}
