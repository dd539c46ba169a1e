import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { errorsOf } from '../helpers/configErrors.ts';
import { namingUpstream, throughBalancer } from '../helpers/throughBalancer.ts';

const config = loadConfig(
  `
health_check: false
hosts:
  - host: old.test
    redirect: { to: "https://new.test\${path}\${query}", status: 301 }
  - host: moved.test
    redirect: { to: "/elsewhere" }
  - host: down.test
    respond:
      status: 503
      body: "Back soon\\n"
      headers: { Retry-After: 120, Content-Type: text/html }
    response_header_rules: { set: { X-Served-By: edge } }
    hsts: max-age=60
  - host: robots.test
    path: /robots.txt
    respond: { body: "User-agent: *\\nDisallow: /\\n" }
  - host: robots.test
    servers: [localhost:8081]
  - host: empty.test
    respond: { status: 204 }
`,
  'lb.yaml',
);

const ask = (host: string, request: { method?: string; target?: string; headers?: string[]; scheme?: 'http' | 'https' } = {}) => {
  const fake = namingUpstream();
  return throughBalancer(config, fake.upstream, { ...request, headers: ['host', host, ...(request.headers ?? [])] }).then((result) => ({ ...result, sent: fake.sent }));
};

describe('redirect', () => {
  it('answers with the status and a Location rendered from the request, the query kept with its ?', async () => {
    const { answer, sent, record } = await ask('old.test', { target: '/a/b?x=1&y=%20' });
    expect(answer.status).toBe(301);
    expect(answer.headers.get('location')).toBe('https://new.test/a/b?x=1&y=%20');
    expect(answer.body).toBe('Moved Permanently: https://new.test/a/b?x=1&y=%20\n');
    expect(sent).toEqual([]);
    expect(record.backend).toBeUndefined();
  });

  it('renders ${query} as nothing when the request has no query, and answers 308 by default', async () => {
    expect((await ask('old.test', { target: '/a' })).answer.headers.get('location')).toBe('https://new.test/a');
    const { answer } = await ask('moved.test', { target: '/x?y=1' });
    expect(answer.status).toBe(308);
    expect(answer.headers.get('location')).toBe('/elsewhere');
  });

  it('answers a HEAD without a body, its length declared', async () => {
    const { answer } = await ask('moved.test', { method: 'HEAD' });
    expect(answer.status).toBe(308);
    expect(answer.body).toBeNull();
    expect(answer.headers.get('content-length')).toBe(String('Permanent Redirect: /elsewhere\n'.length));
  });

  it('carries X-Request-Id, the client\'s when valid', async () => {
    const { answer } = await ask('moved.test', { headers: ['x-request-id', 'abc-123'] });
    expect(answer.headers.get('x-request-id')).toBe('abc-123');
  });
});

describe('respond', () => {
  it('answers the status, body and fields as written, through the response rules and hsts, with X-Request-Id', async () => {
    const { answer, sent, record } = await ask('down.test', { target: '/any/path', method: 'POST', scheme: 'https' });
    expect(answer.status).toBe(503);
    expect(answer.body).toBe('Back soon\n');
    expect(answer.headers.get('content-type')).toBe('text/html');
    expect(answer.headers.get('retry-after')).toBe('120');
    expect(answer.headers.get('content-length')).toBe('10');
    expect(answer.headers.get('x-served-by')).toBe('edge');
    expect(answer.headers.get('strict-transport-security')).toBe('max-age=60');
    expect(answer.headers.get('x-request-id')).toBe(record.requestId);
    expect(sent).toEqual([]);
  });

  it('answers a HEAD with the fields and no body', async () => {
    const { answer } = await ask('down.test', { method: 'HEAD' });
    expect(answer.status).toBe(503);
    expect(answer.body).toBeNull();
    expect(answer.headers.get('content-length')).toBe('10');
  });

  it('serves robots.txt itself and the rest of the host from its backend', async () => {
    const robots = await ask('robots.test', { target: '/robots.txt' });
    expect(robots.answer.body).toBe('User-agent: *\nDisallow: /\n');
    expect(robots.answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await ask('robots.test', { target: '/index.html' })).sent.map((request) => request.origin)).toEqual(['http://localhost:8081']);
  });

  it('gives each answer its own fields, so a rule on one does not reach the next', async () => {
    const first = await ask('down.test');
    first.answer.headers.set('x-later', 'changed');
    expect((await ask('down.test')).answer.headers.get('x-later')).toBeNull();
  });

  it('answers 204 with neither body nor length', async () => {
    const { answer } = await ask('empty.test');
    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
    expect(answer.headers.get('content-length')).toBeNull();
  });
});

describe('redirect and respond: config errors name the field', () => {
  it('refuses an unknown template variable, listing ${query} among those there are', () => {
    expect(errorsOf('paths: [{ path: /, redirect: { to: "https://x.test${uri}" } }]\n')[0]).toMatch(
      /^lb\.yaml:1:\d+: paths\[0\]\.redirect\.to: unknown variable "\$\{uri\}"; expected one of .*\$\{query\}/,
    );
  });

  it('refuses a status a redirect does not have, and a target that is neither path nor URL', () => {
    expect(errorsOf('paths: [{ path: /, redirect: { to: /x, status: 303 } }]\n')[0]).toMatch(/paths\[0\]\.redirect\.status: 303 is not a redirect status; expected 301, 302, 307 or 308/);
    expect(errorsOf('paths: [{ path: /, redirect: { to: "new.test/x" } }]\n')[0]).toMatch(/paths\[0\]\.redirect\.to: a redirect goes to a path/);
  });

  it('refuses a body on 204, a framing field, and pool keys beside an own answer', () => {
    expect(errorsOf('paths: [{ path: /, respond: { status: 204, body: x } }]\n')[0]).toMatch(/paths\[0\]\.respond\.body: a 204 answer has no body/);
    expect(errorsOf('paths: [{ path: /, respond: { headers: { Content-Length: 5 } } }]\n')[0]).toMatch(/paths\[0\]\.respond\.headers\.Content-Length: Content-Length is set by the balancer/);
    expect(errorsOf('paths: [{ path: /, respond: { body: x }, retries: false }]\n')).toEqual([
      'lb.yaml:1:51: paths[0].retries: this route answers itself (respond) and has no backends: retries does nothing here',
    ]);
  });
});
