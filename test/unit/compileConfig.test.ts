import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compileConfig, type CompiledConfig } from '../../src/core/config/compileConfig.ts';
import { ConfigProblems } from '../../src/core/compile/ConfigProblems.ts';
import { parseConfig } from '../../src/core/config/parseConfig.ts';
import type { Upstream } from '../../src/core/Upstream.ts';

// A compiled config holds everything it needs and nothing global: two compiled from the same
// config object serve side by side, each with its own rate limiters and backends.

const config = parseConfig(`
rate_limit: { requests: 1, per: 1m }
health_check: false
paths:
  - path: /
    servers: [localhost:8081]
    rate_limit: { requests: 1, per: 1m, key: { header: X-Key } }
`);

function compile(): CompiledConfig {
  const problems = new ConfigProblems();
  const compiled = compileConfig(config, problems);
  expect(problems.found).toEqual([]);
  return compiled!;
}

const upstream: Upstream = async () => new Response('ok');
const serve = (compiled: CompiledConfig) => createApp({ config: compiled, upstream, clientAddress: () => '192.0.2.10', log: () => {} });

describe('compileConfig', () => {
  it('gives two compilations of one config object their own global rate limiter', async () => {
    const first = serve(compile());
    expect((await first.request('http://lb.test/', { headers: { 'x-key': 'a' } })).status).toBe(200);
    expect((await first.request('http://lb.test/', { headers: { 'x-key': 'b' } })).status).toBe(429);

    const second = serve(compile());
    expect((await second.request('http://lb.test/', { headers: { 'x-key': 'c' } })).status).toBe(200);
  });

  it('gives them their own route rate limiters and backends too', async () => {
    const one = compile();
    const two = compile();
    expect(one.backends[0]).not.toBe(two.backends[0]);
    const first = serve(one);
    const second = serve(two);
    expect((await first.request('http://lb.test/', { headers: { 'x-key': 'same' } })).status).toBe(200);
    expect((await second.request('http://lb.test/', { headers: { 'x-key': 'same' } })).status).toBe(200);
  });

  it('gives nothing to serve when a problem is an error, and records them all', () => {
    const problems = new ConfigProblems();
    const broken = parseConfig('paths:\n  - path: /\n    servers: [localhost:1]\n    firewall_rules: { ip_reject: [bad, worse] }\n');
    expect(compileConfig(broken, problems)).toBeUndefined();
    expect(problems.found.map((problem) => [problem.path.join('.'), problem.severity])).toEqual([
      ['paths.0.firewall_rules.ip_reject.0', 'error'],
      ['paths.0.firewall_rules.ip_reject.1', 'error'],
    ]);
  });
});
