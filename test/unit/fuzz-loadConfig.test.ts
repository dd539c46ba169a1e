import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/core/config/ConfigError.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { intBelow, pickFrom, prng } from './fuzzPrng.ts';

// Fuzzes the config loader with random input: it must load, or throw a ConfigError that names a
// place; never anything else, and never slowly. Seeded: a failure names its seed and input.

const SEED = 0xc0f1;
const tutorial = readFileSync(new URL('../../examples/loadbalancer.yaml', import.meta.url), 'utf8');
const rich = `
trusted_proxies: [10.0.0.0/8, "fd00::/8"]
forwarded_header: forwarded
header_rules: { set: { X-Env: prod } }
rate_limit: { requests: 10, per: 1s }
firewall_rules: { path_reject: [/admin], ip_allow: [0.0.0.0/0, "::/0"] }
hosts:
  - host: "*.example.com"
    path: /api
    servers: [localhost:8081, { url: "http://[::1]:8082/base", weight: 2 }]
    header_rules:
      add: { A: "\${client_address}" }
      append: { Via: lb }
      remove: [X-Drop]
    response_header_rules: { set: { X-Id: "\${request_id}" } }
    param_rules: { set: { p: "1" }, remove: [q] }
    rewrite_rules:
      strip_prefix: /api
      replace: { v1: v2 }
      regex: [{ pattern: "^/u/(\\\\d+)$", replacement: /users/$1 }]
    upstream_host: backend
    firewall_rules:
      ip_reject: [10.192.0.1, "2001:db8::/32"]
      method_allow: [GET, POST]
      header_reject: { X-Debug: ".+" }
      user_agent_reject: ["^curl/"]
    rate_limit: { requests: 5, per: 10s, burst: 10, key: { header: X-Api-Key } }
paths:
  - path: /
    servers: [localhost:9000]
`;

const KEYS = ['hosts', 'paths', 'host', 'path', 'servers', 'url', 'weight', 'header_rules', 'response_header_rules', 'param_rules', 'rewrite_rules', 'firewall_rules', 'rate_limit', 'trusted_proxies', 'forwarded_header', 'upstream_host', 'add', 'set', 'append', 'remove', 'replace', 'strip_prefix', 'regex', 'pattern', 'replacement', 'ip_reject', 'ip_allow', 'path_reject', 'method_allow', 'header_reject', 'user_agent_reject', 'requests', 'per', 'burst', 'key', 'header', 'max_keys', 'timeouts', 'algorithm', '__proto__', 'constructor', 'toString', '$schema', ''];
const STRINGS = ['', '/', '/a', 'localhost:8081', 'http://x:1/b', '10.0.0.0/8', '::1', '1s', '250ms', '${client_address}', '${x', '(', '[', '^/(.*)$', 'GET', 'x y', '\u0000', '\r\n', 'é', '%2f', 'keep', 'backend', 'client_address', '*.a.b', '$$', '.'.repeat(300)];
const YAML_NOISE = [':', '{', '}', '[', ']', ',', '&a', '*a', '!!str ', '|', '>', "'", '"', '%', '@', '`', '#', '- ', '? ', '\n', '  ', '\t', '<<: *a', '---\n', '...\n', '!!binary ', '\\', '\u00e9', '\ufeff'];

describe('loadConfig under random input', () => {
  it('loads or throws a located ConfigError for mutated configs', () => {
    const random = prng(SEED);
    const started = performance.now();
    for (let n = 0; n < 150; n++) {
      let text = n % 2 === 0 ? tutorial : rich;
      const edits = 1 + intBelow(random, 6);
      for (let e = 0; e < edits; e++) {
        const at = intBelow(random, text.length + 1);
        const roll = random();
        if (roll < 0.33) text = text.slice(0, at) + text.slice(at + 1 + intBelow(random, 8));
        else if (roll < 0.66) text = text.slice(0, at) + pickFrom(random, YAML_NOISE) + text.slice(at);
        else text = text.slice(0, at) + pickFrom(random, STRINGS) + text.slice(at + 1);
      }
      expectLoadsOrConfigError(text, `seed ${SEED}, mutation ${n}`);
    }
    // A generous bound: this catches a hang, not a slow machine.
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('loads or throws a located ConfigError for random structures, as YAML and as JSON', () => {
    const random = prng(SEED + 1);
    const started = performance.now();
    for (let n = 0; n < 500; n++) {
      const value = randomValue(random, 0);
      const text = n % 2 === 0 ? JSON.stringify(value) : stringify(value);
      expectLoadsOrConfigError(text, `seed ${SEED + 1}, structure ${n}`);
    }
    // A generous bound: this catches a hang, not a slow machine.
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('reports an alias without its anchor where it is, instead of crashing', () => {
    expect(() => loadConfig('paths:\n  - path: /\n    servers: *nope\n', 'lb.yaml')).toThrow(/^lb\.yaml:3:14: Unresolved alias/);
  });

  it('handles raw noise and alias bombs', () => {
    const random = prng(SEED + 2);
    for (let n = 0; n < 1_000; n++) {
      const text = Array.from({ length: intBelow(random, 60) }, () => (random() < 0.5 ? pickFrom(random, YAML_NOISE) : pickFrom(random, [...KEYS, ...STRINGS]))).join('');
      expectLoadsOrConfigError(text, `seed ${SEED + 2}, noise ${n}`);
    }
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    expectLoadsOrConfigError(bomb, 'alias bomb');
  });
});

function expectLoadsOrConfigError(text: string, where: string): void {
  const started = performance.now();
  try {
    loadConfig(text, 'fuzz.yaml');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw new Error(`${where}: threw ${String((error as Error)?.stack ?? error)}\ninput: ${JSON.stringify(text)}`);
    for (const issue of error.issues) {
      if (!(issue.line >= 1 && issue.column >= 1 && issue.message.length > 0)) throw new Error(`${where}: issue without a place: ${JSON.stringify(issue)}\ninput: ${JSON.stringify(text)}`);
    }
  }
  const took = performance.now() - started;
  if (took > 2_000) throw new Error(`${where}: took ${took.toFixed(0)} ms\ninput: ${JSON.stringify(text)}`);
}

function randomValue(random: () => number, depth: number): unknown {
  const roll = random();
  if (depth > 4 || roll < 0.35) {
    return pickFrom(random, [...STRINGS, 0, -1, 1.5, 65536, true, false, null, 1e308]);
  }
  if (roll < 0.55) return Array.from({ length: intBelow(random, 4) }, () => randomValue(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = intBelow(random, 5); i > 0; i--) {
    Object.defineProperty(object, pickFrom(random, KEYS), { value: randomValue(random, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  if (depth === 0 && random() < 0.7) object[pickFrom(random, ['hosts', 'paths'])] = [{ host: 'a.b', path: '/', servers: ['localhost:1'], ...(randomValue(random, 2) as object) }];
  return object;
}
