import { describe, expect, it } from 'vitest';
import { compileClientAddress } from '../../src/core/firewall/clientAddress.ts';
import { nodeAddress, parseForwarded, parseXForwardedFor } from '../../src/core/firewall/forwardedFor.ts';
import { parseIpAddress } from '../../src/core/firewall/ipAddress.ts';
import { IpRanges } from '../../src/core/firewall/IpRanges.ts';
import { intBelow, pickFrom, prng } from './fuzzPrng.ts';

// Fuzzes the forwarding-header parsers and the trusted-proxy walk with random headers: no crash,
// and the client found is always the peer or an address some header entry names, never a
// trusted proxy's when an untrusted address was present. Seeded: a failure names its seed.

const SEED = 0xf0f0;
const PIECES = ['10.0.0.1', '10.9.9.9', '198.51.100.7', '203.0.113.66', '::1', 'fd00::5', '2001:db8::1', '[2001:db8::1]:80', '1.2.3.4:5678', 'unknown', '_hidden', 'for=', 'For=', 'by=x', 'proto=https', '"', '\\"', ';', ',', ' ', '=', '[', ']', ':', '%', 'é', '999.1.1.1', ''];

describe('the trusted-proxy walk under random headers', () => {
  const trusted = ['10.0.0.0/8', 'fd00::/8'];
  const ranges = new IpRanges(trusted, []);
  const resolvers = {
    'x-forwarded-for': compileClientAddress({ trusted_proxies: trusted }),
    forwarded: compileClientAddress({ trusted_proxies: trusted, forwarded_header: 'forwarded' }),
  } as const;

  it('never throws, and names the peer or an address from the header', () => {
    const random = prng(SEED);
    const started = performance.now();
    for (let n = 0; n < 20_000; n++) {
      const header = pickFrom(random, ['x-forwarded-for', 'forwarded'] as const);
      const value = Array.from({ length: intBelow(random, 12) }, () => pickFrom(random, PIECES)).join('');
      const peer = pickFrom(random, ['10.0.0.2', 'fd00::9', '198.51.100.1', 'garbage', '::ffff:10.1.1.1']);
      const where = `seed ${SEED}, case ${n}: ${header}: ${JSON.stringify(value)} from ${peer}`;
      let client: string | undefined;
      try {
        client = resolvers[header](peer, new Headers({ [header]: value }));
      } catch (error) {
        throw new Error(`${where} threw ${String(error)}`);
      }
      const named = (header === 'forwarded' ? parseForwarded(value) : parseXForwardedFor(value)).map(nodeAddress);
      const peerIp = parseIpAddress(peer);
      const problem =
        client !== peer && !named.includes(client!) ? 'names an address no header entry holds'
        : client !== peer && parseIpAddress(client!) === undefined ? 'names something that is not an address'
        : (peerIp === undefined || !ranges.has(peerIp)) && client !== peer ? 'believed an untrusted peer'
        : undefined;
      if (problem) throw new Error(`${where}: ${problem}: ${client}`);
    }
    // A generous bound: this catches a hang, not a slow machine.
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
