import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { ConfigError } from '../../src/core/config/ConfigError.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { expandEnv } from '../../src/core/config/substituteEnv.ts';
import type { Upstream, UpstreamRequest } from '../../src/core/Upstream.ts';

const environment = (vars: Record<string, string>) => (name: string) => (Object.hasOwn(vars, name) ? vars[name] : undefined);

function errorsOf(text: string, vars: Record<string, string> = {}): string[] {
  try {
    loadConfig(text, 'lb.yaml', { env: environment(vars) });
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('${env:NAME} in config values', () => {
  it('fills any string value from the environment given, and leaves keys as written', () => {
    const loaded = loadConfig(
      [
        'hosts:',
        '  - host: ${env:SITE}',
        '    path: /${env:PREFIX}',
        '    servers: ["${env:BACKEND}", "http://${env:BACKEND_HOST}:8080/base"]',
        '    param_rules: { add: { "${env:SITE}": "x" } }',
        '',
      ].join('\n'),
      'lb.yaml',
      { env: environment({ SITE: 'www.mango.com', PREFIX: 'api', BACKEND: '10.0.0.5:8081', BACKEND_HOST: 'origin.internal' }) },
    );
    const [route] = loaded.config.hosts!;
    expect(route.host).toBe('www.mango.com');
    expect(route.path).toBe('/api');
    expect(loaded.backends.map((backend) => backend.id)).toEqual(['http://10.0.0.5:8081', 'http://origin.internal:8080/base']);
    expect(Object.keys(route.param_rules!.add!)).toEqual(['${env:SITE}']);
  });

  it('takes the default after :- when the variable is unset or empty, as a shell does', () => {
    const env = environment({ EMPTY: '', SET: 'b.example:2' });
    expect(expandEnv('${env:UNSET:-a.example:1}', env)).toEqual({ text: 'a.example:1', problems: [] });
    expect(expandEnv('${env:EMPTY:-a.example:1}', env)).toEqual({ text: 'a.example:1', problems: [] });
    expect(expandEnv('${env:SET:-a.example:1}', env)).toEqual({ text: 'b.example:2', problems: [] });
    expect(expandEnv('${env:EMPTY}x', env)).toEqual({ text: 'x', problems: [] });
    expect(expandEnv('${env:UNSET:-}x', env)).toEqual({ text: 'x', problems: [] });
  });

  it('names every unset variable and its place in one run, with the other errors and without noise about the same field', () => {
    const text = ['hosts:', '  - host: a.example', '    servers: ["${env:BACKEND}", "${env:OTHER}:80"]', '    servrs: []', 'paths:', '  - path: /x', '    servers:', '      - ${env:THIRD}', ''].join('\n');
    expect(errorsOf(text)).toEqual([
      'lb.yaml:3:15: hosts[0].servers[0]: ${env:BACKEND} is not set',
      'lb.yaml:3:33: hosts[0].servers[1]: ${env:OTHER} is not set',
      'lb.yaml:4:5: hosts[0].servrs: unknown key "servrs"; did you mean "servers"?',
      'lb.yaml:8:9: paths[0].servers[0]: ${env:THIRD} is not set',
    ]);
  });

  it('treats every variable as unset when no environment is given', () => {
    expect(() => loadConfig('paths: [{ path: /, servers: ["${env:BACKEND}"] }]', 'lb.yaml')).toThrow('lb.yaml:1:30: paths[0].servers[0]: ${env:BACKEND} is not set');
    expect(loadConfig('paths: [{ path: /, servers: ["${env:BACKEND:-localhost:1}"] }]').backends[0].id).toBe('http://localhost:1');
  });

  it('refuses a reference that is not closed or names no variable', () => {
    expect(errorsOf('paths: [{ path: /, servers: ["${env:BACKEND"] }]')).toEqual([
      'lb.yaml:1:30: paths[0].servers[0]: "${env:BACKEND" opens "${env:" without closing it with "}"; write "$${env:" for a literal "${env:"',
    ]);
    expect(errorsOf('paths: [{ path: /, servers: ["${env:1X}:80"] }]')).toEqual([
      'lb.yaml:1:30: paths[0].servers[0]: ${env:1X}: "1X" is not a variable name (letters, digits and _, not starting with a digit)',
    ]);
  });

  it('reads a value that is one reference alone as a number or a boolean where the config wants one, and as text elsewhere', () => {
    const loaded = loadConfig(
      [
        'retries: { budget_ratio: "${env:RATIO}" }',
        'paths:',
        '  - path: /',
        '    servers: [{ url: "localhost:1", weight: "${env:WEIGHT:-3}" }, "localhost:${env:PORT}"]',
        '    algorithm: weighted',
        '    health_check: ${env:CHECKS}',
        '    header_rules: { set: { X-Code: "${env:CODE}" } }',
        '',
      ].join('\n'),
      'lb.yaml',
      { env: environment({ RATIO: '0.5', PORT: '2', CHECKS: 'false', CODE: '0123' }) },
    );
    const [route] = loaded.config.paths!;
    expect(route.servers?.[0]).toEqual({ url: 'localhost:1', weight: 3 });
    expect(route.health_check).toBe(false);
    expect(loaded.config.retries).toEqual({ budget_ratio: 0.5 });
    expect(route.header_rules?.set).toEqual({ 'X-Code': '0123' });
    expect(errorsOf('paths: [{ path: /, servers: [{ url: "localhost:1", weight: "${env:WEIGHT}" }] }]', { WEIGHT: 'heavy' })).toEqual([
      'lb.yaml:1:60: paths[0].servers[0].weight: expected number, got "heavy"',
    ]);
  });

  it('says to quote a reference that YAML reads as a mapping inside [ ]', () => {
    expect(errorsOf('paths: [{ path: /, servers: [${env:BACKEND}] }]')[0]).toMatch(/^lb\.yaml:1:31: .*; inside \[ \] or \{ \}, quote a value that holds \$\{\.\.\.\}: "\$\{env:NAME\}"$/);
  });

  it('reads $${env: as a literal ${env:', () => {
    expect(expandEnv('$${env:X} ${env:X}', environment({ X: 'x' }))).toEqual({ text: '${env:X} x', problems: [] });
  });
});

describe('${env:NAME} in header and param rule templates', () => {
  function appWith(yaml: string, vars: Record<string, string>) {
    const seen: UpstreamRequest[] = [];
    const upstream: Upstream = async (request) => (seen.push(request), new Response('ok'));
    const app = createApp({ config: loadConfig(yaml, 'lb.yaml', { env: environment(vars) }), upstream, clientAddress: () => '192.0.2.10', log: () => {} });
    return { send: (path: string) => app.request(`http://lb.test${path}`, { headers: { host: 'a.example' } }), last: () => seen.at(-1)! };
  }

  const config = [
    'health_check: false',
    'paths:',
    '  - path: /',
    '    servers: [localhost:1]',
    '    header_rules:',
    '      add:',
    '        X-Token: "${env:TOKEN}"',
    '        X-Both: "${env:TOKEN} for ${host}"',
    '        X-Literal: "$${env:TOKEN} and $${host}"',
    '    param_rules: { add: { key: "${env:TOKEN}" } }',
    '',
  ].join('\n');

  it('inserts the variable at load as literal text, and keeps ${host} and the others per request', async () => {
    const lb = appWith(config, { TOKEN: 'pa$$${host}' });
    await lb.send('/');
    expect(lb.last().headers.get('x-token')).toBe('pa$$${host}');
    expect(lb.last().headers.get('x-both')).toBe('pa$$${host} for a.example');
    expect(lb.last().headers.get('x-literal')).toBe('${env:TOKEN} and ${host}');
    expect(lb.last().target).toBe(`/?key=${encodeURIComponent('pa$$${host}')}`);
  });

  it('reads $$ before ${env: in a template as the template does: a literal $, then the variable', () => {
    expect(expandEnv('$$${env:X}', environment({ X: 'x' }), true)).toEqual({ text: '$$x', problems: [] });
    expect(expandEnv('$${env:X}', environment({ X: 'x' }), true)).toEqual({ text: '$${env:X}', problems: [] });
  });
});
