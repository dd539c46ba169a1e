import { describe, expect, it } from 'vitest';
import { compileRegex } from '../../src/core/compile/compileRegex.ts';
import { ConfigProblem } from '../../src/core/compile/ConfigProblem.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { configErrors } from './rulesFixture.ts';

// Every regular expression the config compiles is checked at load: JavaScript's engine backtracks,
// so one catastrophic pattern lets a single request stall the event loop for seconds.

const route = (rules: string) => `paths:\n  - path: /\n    servers: [localhost:1]\n${rules}`;

describe('a pattern that backtracks catastrophically', () => {
  it.each([
    ['user_agent_reject', '    firewall_rules:\n      user_agent_reject: ["^(a+)+$"]\n', 'lb.yaml:5:27: paths[0].firewall_rules.user_agent_reject[0]: "^(a+)+$" backtracks catastrophically (ReDoS)'],
    ['header_reject', '    firewall_rules:\n      header_reject: { X-Token: ["ok", "(x+x+)+y"] }\n', 'lb.yaml:5:40: paths[0].firewall_rules.header_reject.X-Token[1]: "(x+x+)+y" backtracks catastrophically (ReDoS)'],
    ['rewrite_rules.regex', '    rewrite_rules:\n      regex: [{ pattern: "^/(\\\\w+\\\\s?)*$", replacement: "/" }]\n', 'lb.yaml:5:26: paths[0].rewrite_rules.regex[0].pattern: "^/(\\\\w+\\\\s?)*$" backtracks catastrophically (ReDoS)'],
  ])('is refused in %s, naming the field', (_, rules, start) => {
    expect(configErrors(route(rules))).toMatch(new RegExp(`^${escape(start)}`));
  });

  it('is refused in the top-level rules too', () => {
    expect(configErrors(`firewall_rules: { user_agent_reject: "a*a*b" }\n${route('')}`)).toMatch(/^lb\.yaml:1:38: firewall_rules\.user_agent_reject\[0\]: "a\*a\*b" backtracks catastrophically/);
  });

  it('says which quantifiers trade a run of which character, and a fix where the checker has one', () => {
    expect(() => compileRegex('^(a+)+$', 'i', ['p'])).toThrow('in (a+)+, a+ can split a run of "a" in exponentially many ways');
    expect(() => compileRegex('.*.*=.*', 'i', ['p'])).toThrow('.* and .* can share a run of "a" in polynomially many ways, so one request holding a long such run could stall the balancer; ".*=.*" matches the same without it');
  });

  it('is refused even when only a polynomial blow-up', () => {
    // Cubic on an unanchored search: 2 KB of "a" took 1.7 s on Node 20.
    expect(() => compileRegex('.*.*=.*', 'i', ['p'])).toThrow(ConfigProblem);
    expect(() => compileRegex('\\s*#?\\s*$', 'g', ['p'])).toThrow(ConfigProblem);
  });
});

describe('patterns that match in linear time', () => {
  it.each([
    'bot',
    'curl/',
    '^Mozilla/4\\.0 \\(compatible; MSIE',
    'python-requests|Go-http-client',
    'MSIE [1-6]\\.',
    'Bearer\\s+[A-Za-z0-9._-]+',
    '^/api/v(\\d+)/(.*)$',
    '/users/(?<id>\\d+)',
    '^(/[a-z0-9-]+)+$',
    '^(\\d{1,3}\\.){3}\\d{1,3}$',
    '(?<=/api)/x',
    // The search retrying at each start makes these quadratic at worst, bounded by the header size.
    '[a-z]+bot',
    '.*scanner.*',
  ])('accepts %s', (pattern) => {
    expect(compileRegex(pattern, 'i', ['p'])).toEqual(new RegExp(pattern, 'i'));
  });

  it('loads a config whose patterns are all safe', () => {
    const loaded = loadConfig(route('    firewall_rules: { user_agent_reject: [bot, "^curl/"] }\n    rewrite_rules: { regex: [{ pattern: "^/v(\\\\d+)/", replacement: "/api/$1/" }] }\n'));
    expect(loaded.warnings).toEqual([]);
  });
});

describe('an empty pattern', () => {
  it.each([
    ['user_agent_reject', '    firewall_rules: { user_agent_reject: ["bot", ""] }\n', 'lb.yaml:4:50: paths[0].firewall_rules.user_agent_reject[1]'],
    ['header_reject', '    firewall_rules: { header_reject: { X-Debug: "" } }\n', 'lb.yaml:4:49: paths[0].firewall_rules.header_reject.X-Debug[0]'],
    ['rewrite_rules.regex', '    rewrite_rules: { regex: [{ pattern: "", replacement: "/x" }] }\n', 'lb.yaml:4:41: paths[0].rewrite_rules.regex[0].pattern'],
  ])('is refused in %s: it matches everything', (_, rules, where) => {
    expect(configErrors(route(rules))).toBe(`${where}: an empty pattern matches everything, so it is taken for a mistake; write what it should match`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('a pattern too long to check', () => {
  it('is refused at its field rather than checked for minutes', async () => {
    const { errorsOf } = await import('../helpers/configErrors.ts');
    const pattern = Array.from({ length: 200 }, (_, i) => `${'a'.repeat(i % 5 + 1)}*`).join('|');
    const errors = errorsOf(`paths:\n  - path: /\n    servers: [localhost:1]\n    firewall_rules: { user_agent_reject: ["(${pattern})+x"] }\n`);
    expect(errors.join('\n')).toMatch(/paths\[0\]\.firewall_rules\.user_agent_reject\[0\]: a pattern of \d+ characters is longer than the 512/);
  });
});

describe('a repeated group whose alternatives overlap', () => {
  it.each([['(\\\\w|\\\\d)+$'], ['(?:a|ab)+c'], ['(a|a)*$'], ['(x|y*)+z']])('refuses %s, which scslre alone lets through', async (pattern) => {
    const { errorsOf } = await import('../helpers/configErrors.ts');
    const errors = errorsOf(`paths:\n  - path: /\n    servers: [localhost:1]\n    firewall_rules: { user_agent_reject: ['${pattern.replace(/\\\\/g, '\\')}'] }\n`);
    expect(errors.join('\n')).toMatch(/user_agent_reject\[0\]: .* backtracks catastrophically \(ReDoS\)/);
  });

  it.each([['(bot|crawler|spider)'], ['(?:a|b)+c'], ['^(\\\\.[a-z]+)+$'], ['(https?|ftp)://'], ['(\\\\d{1,3}\\\\.){3}']])('accepts %s', async (pattern) => {
    const { loadConfig } = await import('../../src/core/config/loadConfig.ts');
    expect(() => loadConfig(`paths:\n  - path: /\n    servers: [localhost:1]\n    firewall_rules: { user_agent_reject: ['${pattern.replace(/\\\\/g, '\\')}'] }\n`)).not.toThrow();
  });
});
