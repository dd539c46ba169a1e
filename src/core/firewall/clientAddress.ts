import type { HeaderFields } from '../http/HeaderFields.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import { nodeAddress, parseForwarded, parseXForwardedFor } from './forwardedFor.ts';
import { parseIpAddress } from './ipAddress.ts';
import { IpRanges } from './IpRanges.ts';

/** The top level's `trusted_proxies` and `forwarded_header`, as the config schema reads them. */
export interface ClientAddressSettings {
  /** Addresses and CIDR ranges of the proxies whose forwarding headers are believed. */
  readonly trusted_proxies?: readonly string[];
  /** @default 'x-forwarded-for' */
  readonly forwarded_header?: 'x-forwarded-for' | 'forwarded';
}

/** Finds the client's address from the connection's peer and the request's forwarding headers. */
export type ClientAddressResolver = (peer: string | undefined, headers: HeaderFields) => string | undefined;

/**
 * Compiles the top-level `trusted_proxies` and `forwarded_header` keys. Without trusted proxies
 * the client is the connection's peer, whatever the headers say. With them, when the peer is a
 * trusted proxy, the chain in `X-Forwarded-For` (or RFC 7239 `Forwarded`, if `forwarded_header`
 * says so) is read from the right: each trusted address is skipped, and the first untrusted one
 * is the client. An entry that is not an address (`unknown`, an obfuscated name, garbage) stops
 * the walk at the last address a trusted proxy vouched for. Only one header is read, so a client
 * cannot slip a forged `Forwarded` past a proxy that only appends to `X-Forwarded-For`.
 * @param problems where each problem is recorded; without it the first throws
 * @throws ConfigProblem for an entry that is not an address or CIDR range
 */
export function compileClientAddress(config: ClientAddressSettings, problems?: ConfigProblems): ClientAddressResolver {
  const entries = config.trusted_proxies ?? [];
  if (entries.length === 0) {
    if (config.forwarded_header) {
      const problem = new ConfigProblem(['forwarded_header'], 'forwarded_header needs trusted_proxies: only trusted proxies are believed');
      if (!problems) throw problem;
      problems.add(problem);
    }
    return (peer) => peer;
  }
  const trusted = new IpRanges(entries, ['trusted_proxies'], problems);
  const header = config.forwarded_header ?? 'x-forwarded-for';
  const parse = header === 'forwarded' ? parseForwarded : parseXForwardedFor;

  return (peer, headers) => {
    if (peer === undefined) return undefined;
    const peerAddress = parseIpAddress(peer);
    if (peerAddress === undefined || !trusted.has(peerAddress)) return peer;
    const value = headers.get(header);
    if (value === null) return peer;
    const chain = parse(value);
    let client = peer;
    for (let i = chain.length - 1; i >= 0; i--) {
      const text = nodeAddress(chain[i]);
      const address = parseIpAddress(text);
      if (address === undefined) return client;
      client = text;
      if (!trusted.has(address)) return client;
    }
    return client;
  };
}
