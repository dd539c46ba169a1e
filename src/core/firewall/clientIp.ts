import type { Exchange } from '../Route.ts';
import { parseIpAddress } from './ipAddress.ts';

/** Addresses already parsed: a client sends many requests, often on one connection. */
const parsed = new Map<string, bigint | undefined>();
/** Enough for the clients of a busy minute; a flood of new addresses only empties it. */
const MAX_PARSED = 4096;

/**
 * The exchange's client address as a 128-bit number (see `parseIpAddress`), parsed once per
 * address however many rules and requests ask. Undefined when the address is unknown or not an
 * IP address.
 */
export function clientIpOf(exchange: Exchange): bigint | undefined {
  const text = exchange.clientAddress;
  if (text === undefined) return undefined;
  const known = parsed.get(text);
  if (known !== undefined || parsed.has(text)) return known;
  const address = parseIpAddress(text);
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(text, address);
  return address;
}
