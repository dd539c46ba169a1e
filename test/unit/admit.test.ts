import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { admit, isAdmitted } from '../../src/core/proxy/admit.ts';
import { admitted, clientRequest, refused } from '../helpers/clientRequest.ts';
import { manualClock } from '../helpers/manualClock.ts';

const config = loadConfig('health_check: false\npaths:\n  - path: /\n    servers: [localhost:8081]\n', 'lb.yaml');

const request = (method: string, target = '/') => admit(config, clientRequest({ method, target, peer: '127.0.0.1' }));

describe('admit', () => {
  it('lets an ordinary request in', () => {
    expect(isAdmitted(request('GET'))).toBe(true);
  });

  it('answers CONNECT with 501 itself: a tunnel is never forwarded to a backend', () => {
    const answer = request('CONNECT');
    expect(isAdmitted(answer)).toBe(false);
    expect(answer).toMatchObject({ status: 501 });
  });
});

describe('admit: what it answers itself', () => {
  const routes = loadConfig(`
hosts:
  - host: app.test
    servers: [localhost:8081]
paths:
  - path: /mango
    servers: [localhost:8082]
`);

  it.each([
    ['an asterisk-form target', '*'],
    ['an authority-form target', 'app.test:443'],
  ])('answers 400 to %s, which asks nothing a balancer forwards', (_, target) => {
    const answer = refused(admit(routes, clientRequest({ method: 'OPTIONS', target })));
    expect(answer.status).toBe(400);
    expect(answer.body).toBe('Bad Request: the request-target is not a path\n');
  });

  it.each(['/a/%2F/b', '/a/%zz', '/..', '/a/%00', '/a/..;x/b'])('answers 400 to %s, a path that cannot be normalised safely', (target) => {
    const answer = refused(admit(routes, clientRequest({ target })));
    expect(answer.status).toBe(400);
    expect(answer.body).toBe('Bad Request: the path cannot be normalised safely\n');
  });

  it('answers 400 to a Host header that is not a host', () => {
    const answer = refused(admit(routes, clientRequest({ headers: ['host', 'app.test/evil'] })));
    expect(answer.status).toBe(400);
    expect(answer.body).toBe('Bad Request: the Host header is not a host\n');
  });

  it('answers 404 Not Found when neither a host nor a path route matches', () => {
    const answer = refused(admit(routes, clientRequest({ target: '/apples', headers: ['host', 'www.apple.com'] })));
    expect(answer.status).toBe(404);
    expect(answer.body).toBe('Not Found\n');
  });

  it('routes a request without a Host by its path alone', () => {
    expect(admitted(admit(routes, clientRequest({ target: '/mango/1', headers: [] }))).exchange.route.name).toBe('/mango');
    expect(refused(admit(routes, clientRequest({ target: '/apples', headers: [] }))).status).toBe(404);
  });
});

describe('admit: the request it forwards', () => {
  it('routes, guards and forwards the normalised path, and the query byte for byte', () => {
    const result = admitted(admit(config, clientRequest({ target: '/a/./b//c/%7Ed?x=%2F&y&&z=a+b' })));
    expect(result.exchange.path).toBe('/a/b/c/~d');
    expect(result.outgoing.path).toBe('/a/b/c/~d');
    expect(result.outgoing.query).toBe('?x=%2F&y&&z=a+b');
  });

  it('removes hop-by-hop fields and every field Connection names, and keeps the rest (RFC 9110 section 7.6.1)', () => {
    const headers = [
      'host', 'app.test',
      'connection', 'keep-alive, X-Secret',
      'keep-alive', 'timeout=5',
      'proxy-connection', 'keep-alive',
      'te', 'trailers',
      'trailer', 'x-checksum',
      'upgrade', 'h2c',
      'transfer-encoding', 'chunked',
      'x-secret', 'hop',
      'x-end-to-end', 'kept',
    ];
    const { outgoing } = admitted(admit(config, clientRequest({ method: 'POST', headers })));
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'x-secret']) {
      expect(outgoing.headers.has(name), name).toBe(false);
    }
    expect(outgoing.headers.get('x-end-to-end')).toBe('kept');
    expect(outgoing.headers.get('host')).toBe('app.test');
  });

  it('keeps Host even when Connection names it', () => {
    const { outgoing } = admitted(admit(config, clientRequest({ headers: ['host', 'app.test', 'connection', 'host'] })));
    expect(outgoing.headers.get('host')).toBe('app.test');
  });

  it('drops Expect: the expectation is met on this hop', () => {
    const { outgoing } = admitted(admit(config, clientRequest({ method: 'PUT', headers: ['host', 'app.test', 'expect', '100-continue', 'content-length', '5'] })));
    expect(outgoing.headers.has('expect')).toBe(false);
    expect(outgoing.headers.get('content-length')).toBe('5');
  });

  it("adds X-Forwarded-For, -Proto and -Host, appending the peer to the client's own chain", () => {
    const first = admitted(admit(config, clientRequest({ scheme: 'https' }))).outgoing.headers;
    expect(first.get('x-forwarded-for')).toBe('192.0.2.10');
    expect(first.get('x-forwarded-proto')).toBe('https');
    expect(first.get('x-forwarded-host')).toBe('app.test');
    const chained = admitted(admit(config, clientRequest({ headers: ['host', 'app.test', 'x-forwarded-for', '203.0.113.9'] }))).outgoing.headers;
    expect(chained.get('x-forwarded-for')).toBe('203.0.113.9, 192.0.2.10');
  });

  it('adds no X-Forwarded-For when the runtime does not know the peer, nor X-Forwarded-Host without a Host', () => {
    const { outgoing } = admitted(admit(config, clientRequest({ peer: undefined, headers: [] })));
    expect(outgoing.headers.has('x-forwarded-for')).toBe(false);
    expect(outgoing.headers.has('x-forwarded-host')).toBe(false);
    expect(outgoing.headers.get('x-forwarded-proto')).toBe('http');
  });

  it("leaves the client's own headers alone: balancing looks at the request as it arrived", () => {
    const headers = new FieldList(['host', 'app.test', 'connection', 'x-user', 'x-user', 'ann']);
    const result = admitted(admit(config, { ...clientRequest(), headers }));
    expect(headers.flat).toEqual(['host', 'app.test', 'connection', 'x-user', 'x-user', 'ann']);
    expect(result.exchange.headers.get('x-user')).toBe('ann');
    expect(result.outgoing.headers.has('x-user')).toBe(false);
    expect(result.exchange.clientAddress).toBe('192.0.2.10');
  });

  it('runs the request rules after the forwarding headers, so a rule can change those', () => {
    const rules = loadConfig(`
paths:
  - path: /
    servers: [localhost:8081]
    header_rules: { remove: [X-Forwarded-For], set: { X-Forwarded-Proto: https } }
`);
    const { outgoing } = admitted(admit(rules, clientRequest()));
    expect(outgoing.headers.has('x-forwarded-for')).toBe(false);
    expect(outgoing.headers.get('x-forwarded-proto')).toBe('https');
  });
});

describe('admit: the order of its answers', () => {
  it('refuses a path that cannot be normalised before looking for a route', () => {
    expect(refused(admit(config, clientRequest({ target: '/a/%2F', headers: ['host', 'no-such-host.test'] }))).status).toBe(400);
  });

  it('looks for a route before asking the firewall: no route is 404 even for a rejected client', () => {
    const closed = loadConfig(`
firewall_rules: { ip_reject: [192.0.2.10] }
paths:
  - path: /mango
    servers: [localhost:8081]
`);
    expect(refused(admit(closed, clientRequest({ target: '/apples' }))).status).toBe(404);
    expect(refused(admit(closed, clientRequest({ target: '/mango' }))).status).toBe(403);
  });

  it('firewalls the normalised path, so no spelling of a rejected path gets past it', () => {
    const guarded = loadConfig(`
paths:
  - path: /
    servers: [localhost:8081]
    firewall_rules: { path_reject: [/messages] }
`);
    for (const target of ['/messages', '/./messages', '/a/../messages/1', '//messages', '/%6Dessages', '/MESSAGES']) {
      const answer = refused(admit(guarded, clientRequest({ target })));
      expect(answer.status, target).toBe(403);
      expect(answer.body).toBe('Forbidden\n');
    }
    expect(isAdmitted(admit(guarded, clientRequest({ target: '/messages-archive' })))).toBe(true);
  });

  it('asks the firewall before the rate limiter: a refused request spends no token', () => {
    const clock = manualClock();
    const limited = loadConfig(
      `
rate_limit: { requests: 1, per: 1m }
paths:
  - path: /
    servers: [localhost:8081]
    firewall_rules: { path_reject: [/private] }
`,
      'lb.yaml',
      { now: clock.now },
    );
    expect(refused(admit(limited, clientRequest({ target: '/private' }))).status).toBe(403);
    expect(refused(admit(limited, clientRequest({ target: '/private' }))).status).toBe(403);
    expect(isAdmitted(admit(limited, clientRequest({ target: '/public' })))).toBe(true);
    expect(refused(admit(limited, clientRequest({ target: '/public' }))).status).toBe(429);
  });

  it('needs the top-level firewall and the route firewall both to let a request through', () => {
    const both = loadConfig(`
firewall_rules: { ip_reject: [203.0.113.0/24] }
paths:
  - path: /
    servers: [localhost:8081]
    firewall_rules: { method_allow: [GET] }
`);
    expect(refused(admit(both, clientRequest({ peer: '203.0.113.5' }))).status).toBe(403);
    expect(refused(admit(both, clientRequest({ method: 'POST' }))).status).toBe(403);
    expect(isAdmitted(admit(both, clientRequest()))).toBe(true);
  });

  it('guards the client that trusted proxies name, and forwards the peer that connected', () => {
    const proxied = loadConfig(`
trusted_proxies: [10.0.0.0/8]
firewall_rules: { ip_reject: [203.0.113.7] }
paths:
  - path: /
    servers: [localhost:8081]
`);
    const via = (forwardedFor: string, peer: string) => admit(proxied, clientRequest({ peer, headers: ['host', 'app.test', 'x-forwarded-for', forwardedFor] }));
    expect(refused(via('203.0.113.7', '10.0.0.2')).status).toBe(403);
    const result = admitted(via('198.51.100.1', '10.0.0.2'));
    expect(result.exchange.clientAddress).toBe('198.51.100.1');
    expect(result.outgoing.headers.get('x-forwarded-for')).toBe('198.51.100.1, 10.0.0.2');
    // From a peer that is not a trusted proxy, the header changes no decision.
    expect(admitted(via('203.0.113.7', '192.0.2.10')).exchange.clientAddress).toBe('192.0.2.10');
  });
});
