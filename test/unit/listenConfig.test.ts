import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/core/config/ConfigError.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { errorsOf } from '../helpers/configErrors.ts';
import { appWith } from './rulesFixture.ts';

// Issue 14, points 1 and 2, in the core: the `listen` list and route `hsts` as loadConfig reads,
// refuses and compiles them. The certificate files themselves are read outside the core
// (test/e2e/tls-listeners.test.ts).

const ROUTES = 'hosts:\n  - host: a.test\n    servers: [127.0.0.1:9000]\n';
/** A config with `listen` written as the given YAML list items, and one route. */
const withListen = (...entries: string[]) => `listen:\n${entries.map((entry) => `  - ${entry}\n`).join('')}${ROUTES}`;
const TLS = 'tls: { certificates: [{ cert: a.crt, key: a.key }] }';
const warningsOf = (yaml: string) => loadConfig(yaml, 'lb.yaml').warnings.map(formatIssue);

describe('listen addresses', () => {
  it('refuses an address that is not HOST:PORT, at its place', () => {
    expect(errorsOf(withListen('address: localhost'))).toEqual([
      'lb.yaml:2:14: listen[0].address: "localhost" is not HOST:PORT (an IPv6 address in brackets, such as [::]:443)',
    ]);
  });

  it('refuses an IPv6 address without brackets', () => {
    expect(errorsOf(withListen('address: "::1:8443"'))).toEqual([
      'lb.yaml:2:14: listen[0].address: "::1:8443" is not HOST:PORT (an IPv6 address in brackets, such as [::]:443)',
    ]);
  });

  it('refuses a port past 65535', () => {
    expect(errorsOf(withListen('address: 127.0.0.1:70000'))).toEqual(['lb.yaml:2:14: listen[0].address: 70000 is not a port number (0-65535)']);
  });

  it('takes an IPv6 address in brackets, binding the host without them', () => {
    const [listener] = loadConfig(withListen('address: "[::1]:8443"'), 'lb.yaml').listeners;
    expect(listener).toMatchObject({ address: '[::1]:8443', host: '::1', port: 8443 });
  });

  it('refuses the same address twice, naming the first, host names compared without case', () => {
    expect(errorsOf(withListen('address: 127.0.0.1:8080', 'address: 127.0.0.1:8080'))).toEqual([
      'lb.yaml:3:14: listen[1].address: listen[0] listens on 127.0.0.1:8080 already',
    ]);
    expect(errorsOf(withListen('address: localhost:8080', 'address: LOCALHOST:8080'))).toEqual([
      'lb.yaml:3:14: listen[1].address: listen[0] listens on LOCALHOST:8080 already',
    ]);
  });

  it('takes the same host on two ports, and two hosts on one port', () => {
    const listeners = loadConfig(withListen('address: 127.0.0.1:8080', 'address: 127.0.0.1:8443', 'address: "[::1]:8080"'), 'lb.yaml').listeners;
    expect(listeners.map((listener) => [listener.host, listener.port])).toEqual([
      ['127.0.0.1', 8080],
      ['127.0.0.1', 8443],
      ['::1', 8080],
    ]);
  });

  it('refuses an empty listen list', () => {
    expect(errorsOf(`listen: []\n${ROUTES}`)).toEqual(['lb.yaml:1:9: listen: listen needs at least one listener']);
  });

  it('compiles to no listeners when the config has no listen (the command line then decides)', () => {
    expect(loadConfig(ROUTES, 'lb.yaml').listeners).toEqual([]);
  });
});

describe('listen tls', () => {
  it('compiles a TLS listener: certificates with their field paths, TLSv1.2 by default, no redirect', () => {
    const config = withListen('address: 0.0.0.0:8443\n    tls:\n      certificates:\n        - { cert: a.crt, key: a.key }\n        - { cert: w.crt, key: w.key }');
    expect(loadConfig(config, 'lb.yaml').listeners).toMatchObject([
      {
        address: '0.0.0.0:8443',
        host: '0.0.0.0',
        port: 8443,
        tls: {
          certificates: [
            { cert: 'a.crt', key: 'a.key', at: ['listen', 0, 'tls', 'certificates', 0] },
            { cert: 'w.crt', key: 'w.key', at: ['listen', 0, 'tls', 'certificates', 1] },
          ],
          minVersion: 'TLSv1.2',
        },
        redirectHttps: false,
      },
    ]);
  });

  it('keeps min_version: TLSv1.3', () => {
    const [listener] = loadConfig(withListen('address: 127.0.0.1:8443\n    tls: { min_version: TLSv1.3, certificates: [{ cert: a.crt, key: a.key }] }'), 'lb.yaml').listeners;
    expect(listener.tls?.minVersion).toBe('TLSv1.3');
  });

  it.each(['TLSv1.1', 'TLSv1', 'TLSv1.0', 'tlsv1.2'])('refuses min_version %s, saying which versions it speaks', (version) => {
    expect(errorsOf(withListen(`address: 127.0.0.1:8443\n    tls: { min_version: ${version}, certificates: [{ cert: a.crt, key: a.key }] }`))).toEqual([
      `lb.yaml:3:25: listen[0].tls.min_version: "${version}" is not a TLS version this balancer speaks; expected TLSv1.2 or TLSv1.3`,
    ]);
  });

  it('refuses a TLS listener with no certificates', () => {
    expect(errorsOf(withListen('address: 127.0.0.1:8443\n    tls: { certificates: [] }'))).toEqual([
      'lb.yaml:3:26: listen[0].tls.certificates: certificates lists at least one certificate; leave it out when acme obtains them',
    ]);
  });

  it('refuses a certificate without its key', () => {
    const [line, ...more] = errorsOf(withListen('address: 127.0.0.1:8443\n    tls: { certificates: [{ cert: a.crt }] }'));
    expect(line).toMatch(/^lb\.yaml:3:27: listen\[0\]\.tls\.certificates\[0\]\.key: missing required key "key"/);
    expect(more).toEqual([]);
  });

  it('refuses an empty cert file name in words, not with valibot\'s bare "expected >=1, got 0"', () => {
    const [line, ...more] = errorsOf(withListen('address: 127.0.0.1:8443\n    tls: { certificates: [{ cert: "", key: b.key }] }'));
    expect(line).toMatch(/^lb\.yaml:3:35: listen\[0\]\.tls\.certificates\[0\]\.cert: /);
    expect(line).not.toMatch(/expected >=1, got 0/);
    expect(more).toEqual([]);
  });

  it('refuses an unknown key under tls', () => {
    const [line] = errorsOf(withListen(`address: 127.0.0.1:8443\n    tls: { certificates: [{ cert: a.crt, key: a.key }], ciphers: RC4 }`));
    expect(line).toMatch(/^lb\.yaml:3:57: listen\[0\]\.tls\.ciphers: unknown key "ciphers"/);
  });
});

describe('listen redirect_https', () => {
  it('is an error on a TLS listener, and only that: no "no listener here has tls" warning about that same TLS listener', () => {
    expect(errorsOf(withListen(`address: 127.0.0.1:8443\n    redirect_https: true\n    ${TLS}`))).toEqual([
      'lb.yaml:3:21: listen[0].redirect_https: this listener is HTTPS already: redirect_https belongs on a plain listener',
    ]);
  });

  it('is a warning when no listener has tls: the redirect would point at a port nothing serves', () => {
    const config = withListen('address: 127.0.0.1:8080\n    redirect_https: true');
    expect(warningsOf(config)).toEqual([
      'lb.yaml:3:21: listen[0].redirect_https: warning: no listener here has tls: the redirect sends clients to an HTTPS port this balancer does not serve',
    ]);
    expect(loadConfig(config, 'lb.yaml').listeners[0].redirectHttps).toBe(true);
  });

  it('loads without a warning beside a TLS listener', () => {
    const config = withListen('address: 127.0.0.1:8080\n    redirect_https: true', `address: 127.0.0.1:8443\n    ${TLS}`);
    expect(warningsOf(config)).toEqual([]);
    expect(loadConfig(config, 'lb.yaml').listeners.map((listener) => [listener.redirectHttps, listener.tls !== undefined])).toEqual([
      [true, false],
      [false, true],
    ]);
  });
});

describe('hsts', () => {
  const route = (hsts: string) => `hosts:\n  - host: a.test\n    hsts: ${hsts}\n    servers: [127.0.0.1:9000]\n`;

  it.each(['max-age=31536000', '"max-age=31536000; includeSubDomains"', '"max-age=0; includeSubDomains; preload"', '"MAX-AGE=60;includesubdomains"'])('takes %s', (value) => {
    expect(() => loadConfig(route(value), 'lb.yaml')).not.toThrow();
  });

  it.each(['max-age=one-year', 'includeSubDomains', '"max-age=60; everything"', '""', '"max-age=-1"'])('refuses %s, showing how to write one', (value) => {
    expect(errorsOf(route(value))).toEqual([
      `lb.yaml:3:11: hosts[0].hsts: ${JSON.stringify(JSON.parse(value.startsWith('"') ? value : JSON.stringify(value)))} is not a Strict-Transport-Security value; write it like "max-age=31536000; includeSubDomains"`,
    ]);
  });

  it('refuses a bad value at the top level too', () => {
    const [line] = errorsOf(`hsts: forever\n${ROUTES}`);
    expect(line).toBe('lb.yaml:1:7: hsts: "forever" is not a Strict-Transport-Security value; write it like "max-age=31536000; includeSubDomains"');
  });

  it('sets Strict-Transport-Security on an HTTPS answer only, the route\'s value over the top level\'s', async () => {
    const { app } = appWith(`hsts: max-age=60\nhosts:\n  - host: a.test\n    hsts: " max-age=600; preload "\n    servers: [127.0.0.1:9000]\n  - host: b.test\n    servers: [127.0.0.1:9000]\n`);
    const get = (url: string) => app.request(url, { headers: { host: new URL(url).host } });
    const secure = await get('https://a.test/x');
    expect(secure.status).toBe(200);
    expect(secure.headers.get('strict-transport-security')).toBe('max-age=600; preload');
    expect((await get('http://a.test/x')).headers.get('strict-transport-security')).toBeNull();
    expect((await get('https://b.test/x')).headers.get('strict-transport-security')).toBe('max-age=60');
    expect((await get('http://b.test/x')).headers.get('strict-transport-security')).toBeNull();
  });
});
