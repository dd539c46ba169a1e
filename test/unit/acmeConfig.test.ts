import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { errorsOf } from '../helpers/configErrors.ts';

// Issue 17, point 1, in the core: `tls.acme` as loadConfig reads, refuses and compiles it.

const ROUTES = 'hosts:\n  - host: a.test\n    servers: [127.0.0.1:9000]\n';
const withListen = (...entries: string[]) => `listen:\n${entries.map((entry) => `  - ${entry}\n`).join('')}${ROUTES}`;
const ACME = 'tls: { acme: { email: ops@a.test, storage: acme } }';

describe('tls.acme', () => {
  it("defaults to Let's Encrypt production and the http-01 challenge, with no certificate files", () => {
    const [, listener] = loadConfig(withListen('address: 0.0.0.0:80', `address: 0.0.0.0:443\n    ${ACME}`), 'lb.yaml').listeners;
    expect(listener.tls).toMatchObject({
      certificates: [],
      acme: { email: 'ops@a.test', directory: 'https://acme-v02.api.letsencrypt.org/directory', storage: 'acme', challenge: 'http-01', at: ['listen', 1, 'tls', 'acme'] },
    });
  });

  it('refuses a TLS listener with neither certificates nor acme', () => {
    expect(errorsOf(withListen('address: 0.0.0.0:443\n    tls: { min_version: TLSv1.3 }'))).toEqual(['lb.yaml:3:10: listen[0].tls: a TLS listener needs certificates, or acme to obtain them']);
  });

  it('refuses http-01 without a plain listener to answer it, and takes tls-alpn-01 there', () => {
    expect(errorsOf(withListen(`address: 0.0.0.0:443\n    ${ACME}`))).toEqual([
      'lb.yaml:3:18: listen[0].tls.acme: the http-01 challenge is answered on a plain listener, and there is none: add one (reachable on port 80), or write challenge: tls-alpn-01',
    ]);
    const [listener] = loadConfig(withListen('address: 0.0.0.0:443\n    tls: { acme: { email: ops@a.test, storage: acme, challenge: tls-alpn-01 } }'), 'lb.yaml').listeners;
    expect(listener.tls?.acme?.challenge).toBe('tls-alpn-01');
  });

  it('names the field of a bad email, directory or challenge', () => {
    expect(errorsOf(withListen('address: 0.0.0.0:80', 'address: 0.0.0.0:443\n    tls: { acme: { email: ops, storage: acme, directory: "ftp://x", challenge: dns-01 } }'))).toEqual([
      'lb.yaml:4:27: listen[1].tls.acme.email: "ops" is not an email address',
      'lb.yaml:4:58: listen[1].tls.acme.directory: "ftp://x" is not an http(s) URL',
      'lb.yaml:4:80: listen[1].tls.acme.challenge: "dns-01" is not a challenge this balancer answers; expected http-01 or tls-alpn-01',
    ]);
  });
});
