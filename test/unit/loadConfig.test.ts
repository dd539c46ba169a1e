import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { errorsOf } from '../helpers/configErrors.ts';

const tutorial = readFileSync(new URL('../../examples/loadbalancer.yaml', import.meta.url), 'utf8');


describe('loadConfig', () => {
  it("loads the tutorial's final config unchanged", () => {
    const loaded = loadConfig(tutorial, 'loadbalancer.yaml');
    expect(loaded.config.hosts?.map((h) => h.host)).toEqual(['www.mango.com', 'www.apple.com']);
    // mango and /mango share their three backends: each backend exists once.
    expect(loaded.backends.map((b) => b.id)).toEqual([
      'http://localhost:8081',
      'http://localhost:8082',
      'http://localhost:9081',
      'http://localhost:9082',
      'http://localhost:9999',
      'http://localhost:8888',
    ]);
  });

  it('loads the same config written as JSON', () => {
    const json = JSON.stringify({ paths: [{ path: '/mango', servers: ['localhost:8081', { url: 'https://api.example:8443/v2', weight: 3 }] }] });
    const loaded = loadConfig(json, 'lb.json');
    expect(loaded.backends.map((b) => [b.origin, b.basePath])).toEqual([
      ['http://localhost:8081', ''],
      ['https://api.example:8443', '/v2'],
    ]);
  });

  it('names file, line, column and field for a bad server address', () => {
    expect(errorsOf('hosts:\n  - host: a.example\n    servers: [localhost:8081, localhost:80x0]\n')).toEqual([
      'lb.yaml:3:31: hosts[0].servers[1]: "localhost:80x0" is not host:port or an http(s) URL',
    ]);
  });

  it('reports an unknown key with a suggestion for a likely typo', () => {
    expect(errorsOf('hosts:\n  - host: a.example\n    servers: [localhost:1]\n    header_rule:\n      add: { A: b }\n')).toEqual([
      'lb.yaml:4:5: hosts[0].header_rule: unknown key "header_rule"; did you mean "header_rules"?',
    ]);
  });

  it('lists the allowed keys when an unknown key resembles none', () => {
    const [line] = errorsOf('paths:\n  - path: /\n    servers: [localhost:1]\nzzzzzzzzzz: 1\n');
    expect(line).toMatch(/^lb\.yaml:4:1: zzzzzzzzzz: unknown key "zzzzzzzzzz"; expected one of .*hosts, paths/);
  });

  it('reports every problem, not only the first', () => {
    const lines = errorsOf('paths:\n  - path: mango\n    servers: []\n  - servers: [localhost:1]\n');
    expect(lines).toEqual([
      'lb.yaml:2:11: paths[0].path: a path starts with "/"',
      'lb.yaml:3:14: paths[0].servers: a pool needs at least one server',
      'lb.yaml:4:5: paths[1].path: missing required key "path"',
    ]);
  });

  it('reads durations with units and refuses bare numbers', () => {
    const ok = loadConfig('paths:\n  - path: /\n    servers: [localhost:1]\n    timeouts: { connect: 250ms, response_headers: 1.5s, body_idle: 2m }\n');
    expect(ok.routes.match(undefined, '/')?.timeouts).toEqual({ connect: 250, responseHeaders: 1500, bodyIdle: 120_000 });
    expect(errorsOf('paths:\n  - path: /\n    servers: [localhost:1]\n    timeouts: { connect: 5 }\n')).toEqual([
      'lb.yaml:4:26: paths[0].timeouts.connect: expected a duration such as "5s" or "250ms"',
    ]);
  });

  it('refuses two routes for the same host and path, pointing at the second', () => {
    expect(errorsOf('hosts:\n  - host: A.example\n    servers: [localhost:1]\n  - host: a.example.\n    servers: [localhost:2]\n')).toEqual([
      'lb.yaml:4:11: hosts[1].host: another route, hosts[0], already serves a.example.: no request could tell them apart',
    ]);
  });

  it('gives the YAML syntax error with its place', () => {
    const [line] = errorsOf('paths:\n  - path: /\n    servers: [localhost:1\n');
    expect(line).toMatch(/^lb\.yaml:\d+:\d+: .+/);
  });

  it('refuses a config without routes', () => {
    expect(errorsOf('{}', 'lb.json')).toEqual(['lb.json:1:1: the config has no routes: add `hosts` or `paths`']);
  });
});

describe('compile errors', () => {
  it('are all reported in one run, in file order, however many and wherever they are', () => {
    const text = [
      'hash_on: client_ip',
      'hosts:',
      '  - host: a.example',
      '    servers: [{ url: "localhost:1", weight: 2 }]',
      '    algorithm: round_robin',
      '    firewall_rules:',
      '      ip_reject: [10.0.0.1/8, 10.0.0.0/8, 300.0.0.1]',
      '      user_agent_reject: ["(bot"]',
      '    header_rules: { set: { X-Who: "${nobody}" } }',
      '  - host: a.example',
      '    servers: [localhost:2]',
      '    upstream_host: "bad host"',
      'paths:',
      '  - path: /x',
      '    servers: [localhost:3, localhost:3]',
      '    rewrite_rules: { replace: { "a//b": y } }',
      'trusted_proxies: [10.0.0.0/33]',
      '',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'lb.yaml:1:10: hash_on: hash_on is only used by algorithm: consistent_hash, and no route or pool uses it',
      'lb.yaml:4:45: hosts[0].servers[0].weight: round_robin takes every server in turn and ignores weights; use algorithm: weighted',
      'lb.yaml:7:19: hosts[0].firewall_rules.ip_reject[0]: "10.0.0.1/8" has bits set past its /8 prefix; write the network address',
      'lb.yaml:7:43: hosts[0].firewall_rules.ip_reject[2]: "300.0.0.1" is not an IPv4 or IPv6 address or CIDR range',
      'lb.yaml:8:27: hosts[0].firewall_rules.user_agent_reject[0]: "(bot" is not a valid regular expression: Invalid regular expression: /(bot/i: Unterminated group',
      'lb.yaml:9:35: hosts[0].header_rules.set.X-Who: unknown variable "${nobody}"; expected one of ${client_address}, ${host}, ${request_id}, ${method}, ${path}, ${scheme}',
      'lb.yaml:10:11: hosts[1].host: another route, hosts[0], already serves a.example: no request could tell them apart',
      'lb.yaml:12:20: hosts[1].upstream_host: "bad host" is not keep, backend, or a host name with an optional port (1-65535)',
      'lb.yaml:15:28: paths[0].servers[1]: "localhost:3" is listed twice',
      'lb.yaml:16:41: paths[0].rewrite_rules.replace.a//b: the segment "a//b" must be plain path segments: no "." or "..", no empty segments, no bad escapes or encoded slashes',
      'lb.yaml:17:19: trusted_proxies[0]: "10.0.0.0/33" has prefix length /33; expected 0-32',
    ]);
  });

  it('in one route do not hide those of the next', () => {
    const route = (path: string, cidr: string) => `  - path: ${path}\n    servers: [localhost:1]\n    firewall_rules: { ip_allow: [${cidr}] }\n`;
    expect(errorsOf(`paths:\n${route('/a', 'nope')}${route('/b', '10.0.0.0/8')}${route('/c', 'nada')}`)).toEqual([
      'lb.yaml:4:34: paths[0].firewall_rules.ip_allow[0]: "nope" is not an IPv4 or IPv6 address or CIDR range',
      'lb.yaml:10:34: paths[2].firewall_rules.ip_allow[0]: "nada" is not an IPv4 or IPv6 address or CIDR range',
    ]);
  });
});

describe('errors inside a value that may take several forms', () => {
  it('names an unknown key inside a servers object, with a suggestion', () => {
    expect(errorsOf('paths:\n  - path: /\n    servers: [{ url: "localhost:1", wieght: 2 }]\n')).toEqual([
      'lb.yaml:3:37: paths[0].servers[0].wieght: unknown key "wieght"; did you mean "weight"?',
    ]);
  });

  it('names a bad value inside a switchable settings object at its own field', () => {
    expect(errorsOf('paths:\n  - path: /\n    servers: [localhost:1]\n    health_check: { pth: /x, interval: 5 }\n')).toEqual([
      'lb.yaml:4:21: paths[0].health_check.pth: unknown key "pth"; did you mean "path"?',
      'lb.yaml:4:40: paths[0].health_check.interval: expected a duration such as "5s" or "250ms"',
    ]);
  });
});

describe('route paths written in the config', () => {
  it('are matched in the normalised form requests arrive in', () => {
    const loaded = loadConfig('paths:\n  - path: /%61pi/./v1\n    servers: [localhost:1]\n  - path: /café\n    servers: [localhost:2]\n  - path: //x//\n    servers: [localhost:3]\n');
    expect(loaded.routes.match(undefined, '/api/v1/users')?.name).toBe('/%61pi/./v1');
    expect(loaded.routes.match(undefined, '/caf%C3%A9')?.name).toBe('/café');
    expect(loaded.routes.match(undefined, '/x/y')?.name).toBe('//x//');
  });

  it('are refused when they cannot be normalised', () => {
    expect(errorsOf('paths:\n  - path: /a%2Fb\n    servers: [localhost:1]\n')).toEqual([
      'lb.yaml:2:11: paths[0].path: "/a%2Fb" cannot be normalised (an encoded slash, a bad escape, or ".." above the root)',
    ]);
  });
});

describe('values that would fail every request are refused at load', () => {
  const route = (extra: string) => `paths:\n  - path: /\n    servers: [localhost:1]\n${extra}`;

  it.each([
    ['a zero duration', '    rate_limit: { requests: 10, per: 0s }\n', /paths\[0\]\.rate_limit\.per: a duration is at least 1ms and at most 596h/],
    ['a duration longer than timers keep', '    timeouts: { connect: 1000h }\n', /paths\[0\]\.timeouts\.connect: a duration is at least 1ms and at most 596h/],
    ['a rate-limit key header that is not a header name', '    rate_limit: { requests: 10, per: 1s, key: { header: "X Api Key" } }\n', /key\.header: "X Api Key" is not a header name/],
    ['a hash header that is not a header name', '    algorithm: consistent_hash\n    hash_on: { header: "bad header" }\n', /hash_on\.header: "bad header" is not a header name/],
    ['a header value beyond Latin-1', '    header_rules: { set: { X-V: "✓ ok" } }\n', /characters beyond Latin-1/],
  ])('refuses %s', (_, extra, message) => {
    expect(errorsOf(route(extra)).join('\n')).toMatch(message);
  });

  it('lets a route turn off sticky sessions set at the top level', () => {
    expect(() => loadConfig(`sticky: {}\n${route('    sticky: false\n')}`)).not.toThrow();
  });
});

describe('values that YAML or spelling would change', () => {
  it('asks for quotes around a number that would lose its spelling', () => {
    expect(errorsOf('paths:\n  - path: /\n    servers: [localhost:1]\n    header_rules: { set: { X-V: 1.10 } }\n')).toEqual([
      'lb.yaml:4:33: paths[0].header_rules.set.X-V: 1.1 would lose its spelling; write it in quotes',
    ]);
  });

  it('takes host:port and the same URL as one backend', () => {
    const loaded = loadConfig('paths:\n  - path: /a\n    servers: [localhost:80]\n  - path: /b\n    servers: ["http://localhost:80"]\n');
    expect(loaded.backends.map((b) => b.id)).toEqual(['http://localhost']);
  });
});

describe('settings that would be silently ignored', () => {
  it('refuses a top-level hash_on when no route hashes', () => {
    expect(errorsOf('hash_on: client_ip\npaths:\n  - path: /\n    servers: [localhost:1]\n')).toEqual([
      'lb.yaml:1:10: hash_on: hash_on is only used by algorithm: consistent_hash, and no route or pool uses it',
    ]);
  });

  it('refuses an upstream_host port outside 1-65535', () => {
    expect(errorsOf('paths:\n  - path: /\n    servers: [localhost:1]\n    upstream_host: a.com:99999\n').join('\n')).toMatch(/upstream_host: "a.com:99999" is not keep, backend, or a host name/);
  });
});
