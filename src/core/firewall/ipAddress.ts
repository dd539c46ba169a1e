import { convertIPv4ToBinary, convertIPv6ToBinary, distinctRemoteAddr } from 'hono/utils/ipaddr';

/** `::ffff:0:0/96`, where IPv4 addresses live in the IPv6 space (RFC 4291 section 2.5.5.2). */
const IPV4_MAPPED = 0xffffn << 32n;

/**
 * Parses an IPv4 or IPv6 address into one 128-bit number, IPv4 addresses as IPv4-mapped IPv6
 * (RFC 4291 section 2.5.5.2), so `10.0.0.1` and `::ffff:10.0.0.1` are the same address and every
 * rule compares in one space. Brackets around IPv6 (`[::1]`) are accepted. Parsing is Hono's
 * (`hono/utils/ipaddr`, the parser behind `hono/ip-restriction`).
 * @returns undefined when the text is not an address
 */
export function parseIpAddress(text: string): bigint | undefined {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  try {
    const type = distinctRemoteAddr(address);
    if (type === 'IPv4') return IPV4_MAPPED | convertIPv4ToBinary(address);
    if (type === 'IPv6') return convertIPv6ToBinary(address);
  } catch {
    // Hono throws a TypeError for a malformed address.
  }
  return undefined;
}

/** Whether the text is an IPv4 address in dotted form (not IPv4-mapped IPv6). */
export function isIpv4Text(text: string): boolean {
  return distinctRemoteAddr(text.trim()) === 'IPv4';
}

/**
 * A socket's peer address as rules and logs name it: dual-stack sockets report IPv4 clients as
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1`), which becomes plain `127.0.0.1`.
 */
export function unmapIpv4(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

const ALL_BITS = (1n << 128n) - 1n;

/** The 128-bit mask of a prefix length (`/64` keeps the first 64 bits), IPv4 taken as IPv4-mapped. */
export function prefixMask(length: number): bigint {
  return (ALL_BITS << BigInt(128 - length)) & ALL_BITS;
}
