import { describe, expect, it } from 'vitest';
import { ConfigProblem } from '../../src/core/compile/ConfigProblem.ts';
import { compileClientAddress } from '../../src/core/firewall/clientAddress.ts';
import { nodeAddress, parseForwarded } from '../../src/core/firewall/forwardedFor.ts';
import { parseIpAddress } from '../../src/core/firewall/ipAddress.ts';
import { IpRanges } from '../../src/core/firewall/IpRanges.ts';
import { PathPrefixes } from '../../src/core/firewall/PathPrefixes.ts';
import { countLookups } from '../helpers/countLookups.ts';
import { appWith, configErrors } from './rulesFixture.ts';

const route = (firewall: string, extra = '') => `
${extra}
paths:
  - path: /
    servers: [localhost:8081]
    firewall_rules:
${firewall}
`;

describe('ip_reject and ip_allow', () => {
  const lb = appWith(
    route(`
      ip_reject: [10.192.0.1, 10.0.0.0/8, "2001:db8::/32", "::1"]
`),
  );
  const from = async (peer: string | undefined) => {
    lb.state.peer = peer;
    return (await lb.send('/')).status;
  };

  it.each([
    ['10.192.0.1', 403],
    ['10.1.2.3', 403],
    ['::ffff:10.1.2.3', 403],
    ['2001:db8:1::5', 403],
    ['2001:0DB8:0000::1', 403],
    ['::1', 403],
    ['0:0:0:0:0:0:0:1', 403],
    ['11.0.0.1', 200],
    ['2001:db9::1', 200],
    ['192.0.2.1', 200],
  ])('from %s answers %i', async (peer, status) => {
    expect(await from(peer)).toBe(status);
  });

  it('answers 403 Forbidden with a short body', async () => {
    lb.state.peer = '10.192.0.1';
    const response = await lb.send('/');
    expect(await response.text()).toBe('Forbidden\n');
  });

  it('lets an unknown address pass a reject list, and fail an allow list', async () => {
    expect(await from(undefined)).toBe(200);
    const allow = appWith(route('      ip_allow: [192.0.2.0/24]\n'), { peer: undefined });
    expect((await allow.send('/')).status).toBe(403);
    allow.state.peer = '192.0.2.77';
    expect((await allow.send('/')).status).toBe(200);
    allow.state.peer = '192.0.3.1';
    expect((await allow.send('/')).status).toBe(403);
  });

  it('rejects before it allows', async () => {
    const both = appWith(route('      ip_allow: [10.0.0.0/8]\n      ip_reject: [10.0.0.1]\n'), { peer: '10.0.0.1' });
    expect((await both.send('/')).status).toBe(403);
    both.state.peer = '10.0.0.2';
    expect((await both.send('/')).status).toBe(200);
  });
});

describe('IpRanges', () => {
  const ranges = new IpRanges(['0.0.0.0/0'], []);
  it('matches every IPv4 address, mapped ones too, and no IPv6 one, for 0.0.0.0/0', () => {
    expect(ranges.has(parseIpAddress('255.255.255.255')!)).toBe(true);
    expect(ranges.has(parseIpAddress('::ffff:1.2.3.4')!)).toBe(true);
    expect(ranges.has(parseIpAddress('2001:db8::1')!)).toBe(false);
  });

  it.each([
    ['10.0.0.1/8', /bits set past its \/8 prefix/],
    ['10.0.0.0/33', /prefix length \/33; expected 0-32/],
    ['::/129', /expected 0-128/],
    ['10.0.0.256', /not an IPv4 or IPv6 address/],
    ['example.com', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/', /prefix length \/; expected/],
    ['1:2:3:4:5:6:7:8:9', /not an IPv4 or IPv6/],
  ])('refuses %s', (entry, message) => {
    expect(() => new IpRanges([entry], ['ip_reject'])).toThrow(ConfigProblem);
    expect(() => new IpRanges([entry], ['ip_reject'])).toThrow(message);
  });

  it('names the entry in the config file', () => {
    expect(configErrors(route('      ip_reject: [10.0.0.1, 10.0.0.0/40]\n'))).toMatch(/^lb\.yaml:7:29: paths\[0\]\.firewall_rules\.ip_reject\[1\]: "10\.0\.0\.0\/40"/);
  });
});

describe('path_reject', () => {
  const lb = appWith(route('      path_reject: [/messages, /apps/, /a%62c]\n'));
  it.each([
    ['/messages', 403],
    ['/messages/', 403],
    ['/messages/1', 403],
    ['/MESSAGES/1', 403],
    ['/messages;jsessionid=1', 403],
    ['/apps', 403],
    ['/apps/x', 403],
    ['/abc/d', 403],
    ['/messages-archive', 200],
    ['/messagesx/1', 200],
    ['/pictures', 200],
    ['/x/messages', 200],
  ])('%s answers %i', async (path, status) => {
    expect((await lb.send(path)).status).toBe(status);
  });

  it('matches entries written with non-ASCII characters as clients send them, percent-encoded', async () => {
    const lb2 = appWith(route('      path_reject: [/naïve, "/caf%c3%a9"]\n'));
    for (const path of ['/na%C3%AFve', '/na%c3%afve/x', '/caf%C3%A9']) expect((await lb2.send(path)).status, path).toBe(403);
    expect((await lb2.send('/naive')).status).toBe(200);
  });

  it('reads ;params as servlet containers do, dropped from every segment', async () => {
    const lb2 = appWith(route('      path_reject: [/apps/private]\n'));
    for (const path of ['/apps;jsessionid=1/private', '/apps/private;x', '/apps;a/private;b/c']) expect((await lb2.send(path)).status, path).toBe(403);
    expect((await lb2.send('/apps;x/public')).status).toBe(200);
  });

  it('closes a route with an empty allow-list', async () => {
    const closed = appWith(route('      method_allow: []\n'));
    expect((await closed.send('/')).status).toBe(403);
    const nobody = appWith(route('      ip_allow: []\n'));
    expect((await nobody.send('/')).status).toBe(403);
  });

  it('refuses a rejected path that cannot be normalised', () => {
    expect(configErrors(route('      path_reject: [/a/%2f]\n'))).toMatch(/firewall_rules\.path_reject\[0\]: "\/a\/%2f" cannot be normalised/);
  });
});

// Work is counted, not timed: the characters of the keys looked up. Slicing and looking up every
// prefix of a path of n segments costs O(n^2) of them, about 64 million for these paths.
describe('path_reject lookups grow with the path, not its square', () => {
  const prefixes = new PathPrefixes(['/b', '/a/a/c', `${'/a'.repeat(7_000)}/private`], ['path_reject']);

  it.each([
    ['a path of 8,000 segments', '/a'.repeat(8_000)],
    ['the same in capitals', '/A'.repeat(8_000)],
    ['8,000 segments with ;params', '/a;x'.repeat(8_000)],
    ['one segment of 8,000 ;params', `/a${';a'.repeat(8_000)}`],
  ])('reads %s with keys adding up to twice its length at most', (_, path) => {
    const { result, keyChars } = countLookups(() => prefixes.matches(path));
    expect(result).toBe(false);
    expect(keyChars).toBeLessThanOrEqual(2 * path.length);
  });

  it('walks a prefix 7,000 segments deep, on both readings of ;params, with keys adding up to twice the path at most', () => {
    for (const path of [`${'/A'.repeat(7_000)}/private/x`, `${'/a;x'.repeat(7_000)}/private;y/x`]) {
      const { result, probes, keyChars } = countLookups(() => prefixes.matches(path));
      expect(result, path.slice(0, 12)).toBe(true);
      expect(keyChars).toBeLessThanOrEqual(2 * path.length);
      expect(probes).toBeGreaterThanOrEqual(7_000);
    }
  });
});

describe('method_allow', () => {
  const lb = appWith(route('      method_allow: [get, POST]\n'));
  it.each([
    ['GET', 200],
    ['HEAD', 200],
    ['POST', 200],
    ['PUT', 403],
    ['DELETE', 403],
    ['OPTIONS', 403],
  ])('%s answers %i', async (method, status) => {
    expect((await lb.send('/', { method, body: method === 'POST' || method === 'PUT' ? 'x' : undefined })).status).toBe(status);
  });
});

describe('header_reject and user_agent_reject', () => {
  const lb = appWith(
    route(`
      user_agent_reject: ["^curl/", sqlmap]
      header_reject:
        X-Debug: ".+"
        Referer: ["evil\\\\.example", "spam"]
`),
  );
  it.each([
    [{ 'user-agent': 'curl/8.0' }, 403],
    [{ 'user-agent': 'CURL/8.0' }, 403],
    [{ 'user-agent': 'Mozilla/5.0 sqlmap/1.0' }, 403],
    [{ 'user-agent': 'Mozilla/5.0 (curl/8.0)' }, 200],
    [{ 'x-debug': '1' }, 403],
    [{ 'x-debug': '' }, 200],
    [{ referer: 'https://EVIL.example/' }, 403],
    [{ referer: 'https://evilXexample/' }, 200],
    [{}, 200],
  ])('%j answers %i', async (headers, status) => {
    expect((await lb.send('/', { headers })).status).toBe(status);
  });

  it('refuses a bad pattern where it is written', () => {
    expect(configErrors(route('      user_agent_reject: ["a[", ok]\n'))).toMatch(/^lb\.yaml:7:\d+: paths\[0\]\.firewall_rules\.user_agent_reject\[0\]: "a\[" is not a valid regular expression/);
  });
});

describe('global firewall rules', () => {
  const lb = appWith(`
firewall_rules:
  path_reject: [/admin]
hosts:
  - host: a.example
    servers: [localhost:8081]
    firewall_rules:
      path_reject: [/private]
paths:
  - path: /
    servers: [localhost:8082]
`);
  it('apply to every route, alongside the route\'s own', async () => {
    expect((await lb.send('/admin/x', { headers: { host: 'a.example' } })).status).toBe(403);
    expect((await lb.send('/admin/x')).status).toBe(403);
    expect((await lb.send('/private', { headers: { host: 'a.example' } })).status).toBe(403);
    expect((await lb.send('/private')).status).toBe(200);
  });
});

describe('the client address behind trusted proxies', () => {
  const config = `
trusted_proxies: [10.0.0.0/8, "fd00::/8"]
firewall_rules:
  ip_reject: [203.0.113.66]
paths:
  - path: /
    servers: [localhost:8081]
    header_rules:
      set: { X-Client: "\${client_address}" }
`;

  it('believes X-Forwarded-For from a trusted proxy, read from the right', async () => {
    const lb = appWith(config, { peer: '10.0.0.5' });
    expect((await lb.send('/', { headers: { 'x-forwarded-for': '203.0.113.66' } })).status).toBe(403);
    expect((await lb.send('/', { headers: { 'x-forwarded-for': '203.0.113.66, 10.1.1.1' } })).status).toBe(403);
    await lb.send('/', { headers: { 'x-forwarded-for': '203.0.113.66, 198.51.100.7, 10.1.1.1' } });
    expect(lb.last().headers.get('x-client')).toBe('198.51.100.7');
  });

  it('ignores a spoofed X-Forwarded-For from a client that is not a trusted proxy', async () => {
    const lb = appWith(config, { peer: '198.51.100.7' });
    const response = await lb.send('/', { headers: { 'x-forwarded-for': '10.0.0.1' } });
    expect(response.status).toBe(200);
    expect(lb.last().headers.get('x-client')).toBe('198.51.100.7');
    const spoofedAway = appWith(config, { peer: '203.0.113.66' });
    expect((await spoofedAway.send('/', { headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(403);
  });

  it('appends the peer, not the resolved client, to X-Forwarded-For', async () => {
    const lb = appWith(config, { peer: '10.0.0.5' });
    await lb.send('/', { headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(lb.last().headers.get('x-forwarded-for')).toBe('198.51.100.7, 10.0.0.5');
  });

  it('stops at an entry that is not an address, trusting only what a trusted proxy vouched for', async () => {
    const lb = appWith(config, { peer: '10.0.0.5' });
    await lb.send('/', { headers: { 'x-forwarded-for': '203.0.113.66, garbage, 10.0.0.9' } });
    expect(lb.last().headers.get('x-client')).toBe('10.0.0.9');
  });

  it('reads only the configured header: a forged Forwarded changes nothing', async () => {
    const lb = appWith(config, { peer: '10.0.0.5' });
    await lb.send('/', { headers: { forwarded: 'for=203.0.113.66' } });
    expect(lb.last().headers.get('x-client')).toBe('10.0.0.5');
  });

  it('reads RFC 7239 Forwarded when told to', async () => {
    const lb = appWith(config.replace('trusted_proxies', 'forwarded_header: forwarded\ntrusted_proxies'), { peer: 'fd00::1' });
    await lb.send('/', { headers: { forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https, For=10.2.2.2;by=x' } });
    expect(lb.last().headers.get('x-client')).toBe('2001:db8:cafe::17');
    expect((await lb.send('/', { headers: { forwarded: 'for=203.0.113.66:1234' } })).status).toBe(403);
    await lb.send('/', { headers: { 'x-forwarded-for': '203.0.113.66' } });
    expect(lb.last().headers.get('x-client')).toBe('fd00::1');
  });

  it('refuses forwarded_header without trusted_proxies', () => {
    expect(configErrors('forwarded_header: forwarded\npaths:\n  - path: /\n    servers: [localhost:1]\n')).toMatch(/forwarded_header: forwarded_header needs trusted_proxies/);
  });

  it('does not let an unclosed quote swallow the element a trusted proxy appended', () => {
    const resolve = compileClientAddress({ trusted_proxies: ['10.0.0.1'], forwarded_header: 'forwarded' });
    // The client sent `for="1.2.3.4` (no closing quote); the proxy appended its own element.
    expect(resolve('10.0.0.1', new Headers({ forwarded: 'for="1.2.3.4, for=6.6.6.6' }))).toBe('6.6.6.6');
    expect(resolve('10.0.0.1', new Headers({ forwarded: 'for=6.6.6.6' }))).toBe('6.6.6.6');
  });

  it('parses Forwarded elements with quoted commas and semicolons', () => {
    expect(parseForwarded('for="_a,b;c";by=1, proto=http, for=192.0.2.1')).toEqual(['_a,b;c', '', '192.0.2.1']);
    expect(['192.0.2.1:80', '[::1]:80', '::1', 'unknown'].map(nodeAddress)).toEqual(['192.0.2.1', '::1', '::1', 'unknown']);
  });

  it('without trusted proxies, is always the peer', () => {
    const resolve = compileClientAddress({});
    expect(resolve('192.0.2.1', new Headers({ 'x-forwarded-for': '10.0.0.1' }))).toBe('192.0.2.1');
  });
});

describe('trusted_proxies config errors', () => {
  it('name the entry that is not an address or range', () => {
    expect(configErrors('trusted_proxies: [10.0.0.0/8, proxy.internal]\npaths:\n  - path: /\n    servers: [localhost:1]\n')).toMatch(
      /^lb\.yaml:1:31: trusted_proxies\[1\]: "proxy\.internal" is not an IPv4 or IPv6 address or CIDR range/,
    );
  });
});
