import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { configJsonSchema } from '../../scripts/configJsonSchema.js';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { configSchema } from '../../src/core/config/schema/index.ts';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';
import testConfigs from './testConfigs.json' with { type: 'json' };

// The JSON Schema, generated from the sources, in a real validator: ajv, in strict mode (unknown
// keywords, missing types, required keys no schema names and such are compile errors), for the
// draft the schema declares (draft-07).
const schema = configJsonSchema(configSchema);
const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);

const editorAccepts = (config: unknown) => validate(config);
const checkAccepts = (config: unknown) => {
  try {
    loadConfig(JSON.stringify(config), 'lb.json');
    return true;
  } catch {
    return false;
  }
};

const route = { path: '/', servers: ['localhost:8081'] };
/** A config of one path route with `keys` on it (and `top` at the top level). */
const onRoute = (keys: object, top: object = {}) => ({ ...top, paths: [{ ...route, ...keys }] });
const atTop = (keys: object) => ({ ...keys, paths: [route] });

describe('the JSON Schema in ajv', () => {
  it('declares draft-07 and compiles in strict mode', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts examples/loadbalancer.yaml', () => {
    const example = parse(readFileSync(`${PROJECT_ROOT}/examples/loadbalancer.yaml`, 'utf8'));
    expect(validate.errors ?? []).toEqual([]);
    expect(editorAccepts(example)).toBe(true);
  });

  it('accepts every config the tests validate (test/unit/testConfigs.json, from scripts/collect-test-configs.js)', () => {
    expect(testConfigs.length).toBeGreaterThan(80);
    const rejected = testConfigs.filter((config) => !editorAccepts(config)).map((config) => ({ config, errors: validate.errors }));
    expect(rejected).toEqual([]);
  });

  it('accepts every config example in the docs that check accepts', () => {
    const pages = ['README.md', ...['configuration', 'health-and-balancing', 'requests', 'rules-and-firewall', 'runtimes'].map((page) => `docs/${page}.md`)];
    const examples = pages.flatMap((page) =>
      [...readFileSync(`${PROJECT_ROOT}/${page}`, 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((match) => ({ page, text: match[1] })),
    );
    // Fragments are completed: a route's keys go on a route, top-level keys get one.
    const configs = examples
      .map(({ page, text }) => ({ page, value: parseAllDocuments(text)[0]?.toJS() }))
      .filter(({ value }) => value && typeof value === 'object')
      .map(({ page, value }) => ({ page, config: 'hosts' in value || 'paths' in value ? value : 'servers' in value ? { paths: [{ path: '/', ...value }] } : atTop(value) }));
    const valid = configs.filter(({ config }) => checkAccepts(config));
    expect(valid.length).toBeGreaterThanOrEqual(14);
    expect(valid.filter(({ config }) => !editorAccepts(config))).toEqual([]);
  });

  it('accepts the edges check accepts', () => {
    const edges = [
      onRoute({ servers: ['localhost:08080', 'HTTP://Backend.example', 'http://[::1]:8080/base', 'https://api.example/v2/', '[::1]:9000', 'http://other.example:'] }),
      onRoute({ servers: [{ url: 'http://10.0.0.5:8080/base', weight: 1000 }] }),
      onRoute({ timeouts: { connect: '0.5ms', response_headers: '596h', body_idle: '1.5s' } }),
      onRoute({ health_check: { expected_status: [200, '300-302', '200-200', '100-599', '199-200', '290-301'] } }),
      onRoute({ health_check: { expected_status: '204' } }),
      atTop({ limits: { max_request_target: 64, max_header_size: ' 8 KiB ', max_header_count: 10_000 } }),
      atTop({ limits: { max_request_target: '1M', max_header_size: '1048576B' } }),
      atTop({ limits: { max_request_target: '0064', max_header_size: '1MB' } }),
      atTop({ timeouts: { client_header: '10s', client_idle: '35791m', client_body: '2147483647ms', client_send: '1h' } }),
      onRoute({ header_rules: { set: { 'X-Count': 12, 'X-On': true } } }),
      atTop({ algorithm: 'consistent_hash', hash_on: { header: 'X-User' } }),
      onRoute({ algorithm: 'consistent_hash', hash_on: { cookie: 'session' } }),
      onRoute({ hash_on: 'client_ip' }, { algorithm: 'consistent_hash' }),
      { hash_on: 'client_ip', hosts: [{ host: 'a.example', algorithm: 'consistent_hash', servers: ['localhost:1'] }], paths: [{ ...route, algorithm: 'random' }] },
      { algorithm: 'consistent_hash', hash_on: 'client_ip', paths: [{ ...route, algorithm: 'random' }, { path: '/b', servers: ['localhost:2'] }] },
      atTop({ trusted_proxies: ['10.0.0.0/8'], forwarded_header: 'forwarded' }),
      atTop({ listen: [{ address: '0.0.0.0:80' }, { address: '0.0.0.0:443', tls: { acme: { email: 'ops@a.test', storage: 'acme', challenge: 'http-01' } } }] }),
      { hosts: [{ host: '*.example.com', servers: ['localhost:1'] }] },
      {
        pools: { stable: { servers: ['localhost:1'], algorithm: 'consistent_hash', hash_on: 'client_ip' }, canary: { servers: ['localhost:2'] } },
        paths: [
          { path: '/', split: [{ pool: 'stable', weight: 95 }, { pool: 'canary', weight: 5 }], sticky: { cookie: 'side' } },
          { path: '/a', pool: 'stable', timeouts: { connect: '1s' } },
          { path: '/old', redirect: { to: 'https://${host}/new${query}', status: 301 } },
          { path: '/healthz', respond: { status: 200, body: 'ok', headers: { 'Cache-Control': 'no-store', 'X-N': 1 } } },
        ],
      },
    ];
    expect(edges.filter((config) => !checkAccepts(config))).toEqual([]);
    expect(edges.filter((config) => !editorAccepts(config)).map((config) => ({ config, errors: validate.errors }))).toEqual([]);
  });
});

/** Broken configs, by the rule they break. The schema rejects each, and so does `check`. */
const broken: Record<string, [string, unknown][]> = {
  'server addresses': [
    ['a host without a port', onRoute({ servers: ['localhost'] })],
    ['a port that is not a number', onRoute({ servers: ['localhost:80x0'] })],
    ['port 0', onRoute({ servers: ['localhost:0'] })],
    ['a port past 65535', onRoute({ servers: ['localhost:65536'] })],
    ['host:port with a path', onRoute({ servers: ['localhost:8080/base'] })],
    ['a scheme other than http(s)', onRoute({ servers: ['ftp://files.example:21'] })],
    ['credentials in the URL', onRoute({ servers: ['http://user:secret@backend.example:8080'] })],
    ['a query in the URL', onRoute({ servers: ['http://backend.example:8080/base?x=1'] })],
    ['a fragment in the URL', onRoute({ servers: ['http://backend.example/base#top'] })],
    ['a URL port past 65535', onRoute({ servers: ['http://backend.example:70000'] })],
    ['an object whose url has no port', onRoute({ servers: [{ url: 'localhost' }] })],
    ['an object without url', onRoute({ servers: [{ weight: 2 }] })],
    ['weight 0', onRoute({ servers: [{ url: 'localhost:8081', weight: 0 }] })],
    ['weight past 1000', onRoute({ servers: [{ url: 'localhost:8081', weight: 1001 }] })],
    ['a fractional weight', onRoute({ servers: [{ url: 'localhost:8081', weight: 1.5 }] })],
    ['a misspelt key in a server object', onRoute({ servers: [{ url: 'localhost:8081', wieght: 2 }] })],
    ['no servers', onRoute({ servers: [] })],
  ],
  'expected_status ranges': [
    ['a status below 100', onRoute({ health_check: { expected_status: 99 } })],
    ['a status past 599', onRoute({ health_check: { expected_status: 600 } })],
    ['a fractional status', onRoute({ health_check: { expected_status: 200.5 } })],
    ['a class such as 2xx', onRoute({ health_check: { expected_status: '2xx' } })],
    ['a range whose ends are the wrong way round', onRoute({ health_check: { expected_status: '399-200' } })],
    ['a range whose last digit is lower', onRoute({ health_check: { expected_status: '209-201' } })],
    ['a range whose middle digit is lower', onRoute({ health_check: { expected_status: '250-240' } })],
    ['a range past 599', onRoute({ health_check: { expected_status: '200-600' } })],
    ['a half range in a list', onRoute({ health_check: { expected_status: [200, '300-'] } })],
    ['a passive status below 500', onRoute({ passive_health: { statuses: [404] } })],
  ],
  'hash_on only with algorithm: consistent_hash': [
    ['on a route balanced at random', onRoute({ algorithm: 'random', hash_on: 'client_ip' })],
    ['on a route with no algorithm and none at the top (random)', onRoute({ hash_on: { header: 'X-User' } })],
    ['on a route whose top level balances round robin', onRoute({ hash_on: 'client_ip' }, { algorithm: 'round_robin' })],
    ['on a route that overrides a consistent_hash top level', onRoute({ algorithm: 'random', hash_on: 'client_ip' }, { algorithm: 'consistent_hash' })],
    ['at the top level, with no consistent_hash anywhere', atTop({ hash_on: 'client_ip' })],
    ['at the top level, with a top-level algorithm that is not consistent_hash', atTop({ algorithm: 'least_connections', hash_on: 'client_ip' })],
    [
      'at the top level, with consistent_hash there but every route overriding it',
      { algorithm: 'consistent_hash', hash_on: 'client_ip', paths: [{ ...route, algorithm: 'random' }], hosts: [{ host: 'a.example', algorithm: 'weighted', servers: ['localhost:1'] }] },
    ],
  ],
  'one target per route, pool keys only beside servers': [
    ['a route with no target', { paths: [{ path: '/' }] }],
    ['servers and a pool', { pools: { web: { servers: ['localhost:1'] } }, paths: [{ ...route, pool: 'web' }] }],
    ['a pool with an algorithm beside it', { pools: { web: { servers: ['localhost:1'] } }, paths: [{ path: '/', pool: 'web', algorithm: 'random' }] }],
    ['a split with retries beside it', { pools: { web: { servers: ['localhost:1'] } }, paths: [{ path: '/', split: [{ pool: 'web', weight: 1 }], retries: false }] }],
    ['a respond with sticky beside it', { paths: [{ path: '/', respond: { body: 'x' }, sticky: true }] }],
    ['a redirect status other than 301, 302, 307, 308', { paths: [{ path: '/', redirect: { to: '/x', status: 303 } }] }],
  ],
  'forwarded_header only with trusted_proxies': [
    ['without trusted_proxies', atTop({ forwarded_header: 'forwarded' })],
    ['with an empty trusted_proxies', atTop({ forwarded_header: 'x-forwarded-for', trusted_proxies: [] })],
  ],
  'a TLS listener needs certificates or acme': [
    ['tls with neither', atTop({ listen: [{ address: '0.0.0.0:80' }, { address: '0.0.0.0:443', tls: { min_version: 'TLSv1.3' } }] })],
  ],
  'at least one route': [
    ['an empty config', {}],
    ['empty hosts', { hosts: [] }],
    ['empty hosts and paths', { hosts: [], paths: [] }],
    ['top-level keys only', { algorithm: 'random', health_check: false }],
  ],
  durations: [
    ['a number', onRoute({ timeouts: { connect: 5 } })],
    ['no unit', onRoute({ health_check: { interval: '5' } })],
    ['a space before the unit', onRoute({ timeouts: { connect: '5 s' } })],
    ['an unknown unit', atTop({ rate_limit: { requests: 10, per: '1min' } })],
    ['zero', onRoute({ timeouts: { response_headers: '0s' } })],
    ['zero with a fraction', onRoute({ passive_health: { cooldown: '0.00ms' } })],
    ['negative', onRoute({ sticky: { max_age: '-1s' } })],
    ['past what a timer holds (596h)', onRoute({ timeouts: { body_idle: '600h' } })],
    ['past what a timer holds, in minutes', atTop({ timeouts: { client_idle: '40000m' } })],
    ['a client timeout past what a timer holds, in ms', atTop({ timeouts: { client_send: '2147483648ms' } })],
  ],
  sizes: [
    ['a target below 64 bytes', atTop({ limits: { max_request_target: 32 } })],
    ['a target below 64 bytes, with a unit', atTop({ limits: { max_request_target: '63B' } })],
    ['a head past 1 MiB', atTop({ limits: { max_header_size: '2MiB' } })],
    ['a head past 1 MiB in KiB', atTop({ limits: { max_header_size: '1025KiB' } })],
    ['a head past 1 MiB in bytes', atTop({ limits: { max_header_size: 1048577 } })],
    ['a head below 1 KiB', atTop({ limits: { max_header_size: 512 } })],
    ['zero KiB', atTop({ limits: { max_header_size: '0KiB' } })],
    ['a fraction', atTop({ limits: { max_request_target: '1.5KiB' } })],
    ['an unknown unit', atTop({ limits: { max_request_target: '8GB' } })],
    ['no header fields', atTop({ limits: { max_header_count: 0 } })],
    ['past 10000 header fields', atTop({ limits: { max_header_count: 10_001 } })],
  ],
  'top-level-only keys': [
    ['limits on a route', onRoute({ limits: { max_header_count: 100 } })],
    ['a client timeout on a route', onRoute({ timeouts: { client_idle: '60s' } })],
    ['trusted_proxies on a route', onRoute({ trusted_proxies: ['10.0.0.1'] })],
  ],
  'values and keys': [
    ['a misspelt key', onRoute({ header_rule: { add: { A: 'b' } } })],
    ['an unknown algorithm', onRoute({ algorithm: 'fastest' })],
    ['a header value that would lose its spelling', onRoute({ header_rules: { set: { 'X-Version': 1.1 } } })],
    ['a path without a leading slash', { paths: [{ path: 'mango', servers: ['localhost:1'] }] }],
    ['a host name with a space', { hosts: [{ host: 'www mango.com', servers: ['localhost:1'] }] }],
  ],
};

describe.each(Object.entries(broken))('the JSON Schema and check both reject broken %s', (_rule, cases) => {
  it.each(cases)('%s', (_name, config) => {
    expect(editorAccepts(config)).toBe(false);
    expect(checkAccepts(config)).toBe(false);
  });
});

describe('${env:...} references', () => {
  it('are accepted in any string value, and as the whole value of a number or a boolean', () => {
    const config = {
      algorithm: '${env:ALGORITHM:-random}',
      trusted_proxies: ['${env:PROXY}'],
      forwarded_header: '${env:FORWARDED_HEADER:-x-forwarded-for}',
      limits: { max_header_count: '${env:MAX_FIELDS}', max_header_size: '${env:MAX_HEAD:-16KiB}' },
      timeouts: { client_idle: '${env:IDLE:-60s}' },
      hosts: [
        {
          host: '${env:PUBLIC_HOST}',
          servers: ['${env:BACKEND}', 'http://${env:BACKEND_HOST}:8080', { url: '${env:BACKEND2}', weight: '${env:WEIGHT:-1}' }],
          health_check: '${env:HEALTH_CHECKS:-true}',
          retries: { attempts: '${env:RETRIES}', on: ['${env:RETRY_ON}'] },
          timeouts: { connect: '${env:CONNECT_TIMEOUT:-5s}' },
          passive_health: { statuses: ['${env:BAD_STATUS}'] },
          header_rules: { set: { 'X-Env': '${env:NAME:-}' } },
          hash_on: { header: '${env:HASH_HEADER}' },
        },
        { host: 'b.example', servers: ['localhost:1'], health_check: { expected_status: '${env:OK_STATUS}' } },
      ],
    };
    expect(editorAccepts(config)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
  });

  it('still leave malformed values flagged', () => {
    for (const server of ['${env:}', '${ENV:BACKEND}', '$env:BACKEND', '${env:BACK END}', '{env:BACKEND}']) {
      expect(editorAccepts(onRoute({ servers: [server] }))).toBe(false);
    }
    expect(editorAccepts(onRoute({ timeouts: { connect: '${env:TIMEOUT' } }))).toBe(false);
    expect(editorAccepts(atTop({ limits: { max_header_count: '100' } }))).toBe(false);
    // A number or a boolean comes from the environment whole, not spliced into other text.
    expect(editorAccepts(onRoute({ servers: [{ url: 'localhost:1', weight: '1${env:WEIGHT}' }] }))).toBe(false);
    expect(editorAccepts(onRoute({ health_check: 'is ${env:HEALTH_CHECKS}' }))).toBe(false);
  });
});
