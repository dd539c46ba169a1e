import { isIP } from 'node:net';
import { normalizeHost } from '../core/routing/normalizeHost.ts';

/** The host names `tls.acme` orders certificates for, and those it leaves out with why. */
export interface AcmeHosts {
  readonly hosts: readonly string[];
  readonly skipped: readonly (readonly [host: string, why: string])[];
}

/**
 * The exact host names of the routes that need a certificate from the CA: not a wildcard (only
 * DNS-01 proves one, and this balancer answers HTTP-01 and TLS-ALPN-01), not an IP address or a
 * name without a dot (no public CA issues for those), and not one a `certificates` file already
 * holds (the config's own files win).
 * @param routeHosts every route's `host`, as written; undefined for a path-only route
 * @param held whether a certificate file of the listener holds the name
 */
export function acmeHosts(routeHosts: readonly (string | undefined)[], held: (host: string) => boolean): AcmeHosts {
  const hosts: string[] = [];
  const skipped: [string, string][] = [];
  for (const written of new Set(routeHosts.flatMap((host) => (host === undefined ? [] : [normalizeHost(host)])))) {
    if (written.includes('*')) skipped.push([written, 'a wildcard name is proven only by the DNS-01 challenge, which this balancer does not answer: give its certificate in tls.certificates']);
    else if (isIP(written.replace(/^\[|\]$/g, '')) !== 0) skipped.push([written, 'an IP address gets no certificate from an ACME CA here']);
    else if (!written.includes('.')) skipped.push([written, 'a name without a dot gets no certificate from a public CA']);
    else if (held(written)) continue;
    else hosts.push(written);
  }
  return { hosts, skipped };
}
