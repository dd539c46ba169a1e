import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { isIpv4Text, parseIpAddress, prefixMask } from './ipAddress.ts';


/**
 * A set of IPv4 and IPv6 addresses and CIDR ranges (RFC 4632, RFC 4291 section 2.3), compiled
 * once: a lookup masks the address once per distinct prefix length and probes a set, so its cost
 * does not grow with the number of entries. IPv4 entries also match IPv4-mapped IPv6 addresses.
 */
export class IpRanges {
  /** Networks by prefix length (in the 128-bit space), longest first. */
  readonly #byPrefix: { mask: bigint; networks: Set<bigint> }[] = [];
  readonly size: number;

  /**
   * @param entries such as `10.192.0.1`, `10.0.0.0/8`, `2001:db8::/32`, `::1`
   * @param at the config path of the list, for errors
   * @param problems where each bad entry is recorded (and left out); without it the first throws
   * @throws ConfigProblem naming the entry that is not an address or range
   */
  constructor(entries: readonly string[], at: readonly (string | number)[], problems?: ConfigProblems) {
    const byLength = new Map<number, Set<bigint>>();
    entries.forEach((entry, i) => {
      const range = problems ? problems.attempt(() => parseRange(entry, [...at, i])) : parseRange(entry, [...at, i]);
      if (!range) return;
      const [network, length] = range;
      let set = byLength.get(length);
      if (!set) byLength.set(length, (set = new Set()));
      set.add(network);
    });
    for (const length of [...byLength.keys()].sort((a, b) => b - a)) {
      this.#byPrefix.push({ mask: prefixMask(length), networks: byLength.get(length)! });
    }
    this.size = entries.length;
  }

  /** Whether the address (as `parseIpAddress` returns it) falls in any entry. */
  has(address: bigint): boolean {
    for (const { mask, networks } of this.#byPrefix) {
      if (networks.has(address & mask)) return true;
    }
    return false;
  }
}


function parseRange(entry: string, at: readonly (string | number)[]): [bigint, number] {
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const address = parseIpAddress(addressText);
  if (address === undefined) throw new ConfigProblem(at, `${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR range`);
  const ipv4 = isIpv4Text(addressText);
  const max = ipv4 ? 32 : 128;
  if (slash === -1) return [address, 128];
  const lengthText = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) {
    throw new ConfigProblem(at, `${JSON.stringify(entry)} has prefix length /${lengthText}; expected 0-${max}`);
  }
  const length = Number(lengthText) + (ipv4 ? 96 : 0);
  const network = address & prefixMask(length);
  if (network !== address) {
    throw new ConfigProblem(at, `${JSON.stringify(entry)} has bits set past its /${lengthText} prefix; write the network address`);
  }
  return [network, length];
}
