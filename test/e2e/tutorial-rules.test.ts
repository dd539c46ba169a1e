import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';

// The tutorial's rule and firewall expectations (DESIGN.md), over real loopback HTTP: the built
// `switchyard serve` in front of real node:http backends. The client runs on 127.0.0.1, so the
// rejected-IP case rejects 127.0.0.1.

let mangoA: TestBackend;
let mangoB: TestBackend;
let other: TestBackend;
let balancer: RunningBalancer;
let trusting: RunningBalancer;

beforeAll(async () => {
  [mangoA, mangoB, other] = await Promise.all([startTestBackend('mango-a'), startTestBackend('mango-b'), startTestBackend('other')]);
  balancer = await startBalancer(`
hosts:
  - host: www.mango.com
    firewall_rules:
      ip_reject: [10.192.0.1, 10.192.0.2]
      path_reject: [/messages, /apps]
    header_rules:
      add: { MyCustomHeader: Test }
      remove: { Host: www.mango.com }
    param_rules:
      add: { MyCustomParam: Test }
      remove: { RemoveMe: Remove }
    rewrite_rules:
      replace: { v1: v2 }
    servers: [${mangoA.address}, ${mangoB.address}]
  - host: www.rejected.com
    firewall_rules:
      ip_reject: [127.0.0.1, "::1"]
    servers: [${other.address}]
  - host: www.allowed.com
    firewall_rules:
      ip_allow: [127.0.0.1/32]
    upstream_host: api.internal:8443
    response_header_rules:
      set: { X-Request-Id: "\${request_id}" }
    header_rules:
      set: { X-Request-Id: "\${request_id}", X-Real-IP: "\${client_address}" }
    servers: [${other.address}]
  - host: www.limited.com
    rate_limit: { requests: 2, per: 1m }
    servers: [${other.address}]
`);
  trusting = await startBalancer(`
trusted_proxies: [127.0.0.0/8]
hosts:
  - host: www.rejected.com
    firewall_rules:
      ip_reject: [203.0.113.9]
    servers: [${other.address}]
`);
});

afterAll(async () => {
  await Promise.all([balancer?.stop(), trusting?.stop()]);
  await Promise.all([mangoA?.close(), mangoB?.close(), other?.close()]);
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, because fetch will not send a Host header of our choosing. */
function get(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const mango = (path: string, headers: Record<string, string> = {}) => get(balancer.url, path, { host: 'www.mango.com', ...headers });
const echoed = (answer: Answer) => JSON.parse(answer.body) as EchoedRequest;
const ownAddress = (seen: EchoedRequest) => (seen.name === 'mango-a' ? mangoA : mangoB).address;

describe("the tutorial's rules, over HTTP", () => {
  it('adds MyCustomHeader: Test on the way to a mango backend', async () => {
    const answer = await mango('/');
    expect(answer.status).toBe(200);
    expect(echoed(answer).headers.mycustomheader).toBe('Test');
  });

  it("removes the client's Host, so the backend sees its own host:port", async () => {
    const seen = echoed(await mango('/'));
    expect(seen.headers.host).toBe(ownAddress(seen));
  });

  it('adds MyCustomParam=Test and drops RemoveMe from the query', async () => {
    const seen = echoed(await mango('/?RemoveMe=Remove&keep=%7e'));
    expect(seen.url).toBe('/?keep=%7e&MyCustomParam=Test');
  });

  it("serves /v1 by the backend's /v2", async () => {
    const seen = echoed(await mango('/v1'));
    expect(seen.url).toBe('/v2?MyCustomParam=Test');
  });

  it('answers 403 for /messages and /apps, 200 for /pictures', async () => {
    expect((await mango('/messages')).status).toBe(403);
    expect((await mango('/apps')).status).toBe(403);
    expect((await mango('/messages/1')).body).toBe('Forbidden\n');
    expect((await mango('/pictures')).status).toBe(200);
  });

  it('answers 403 to a request from a rejected IP', async () => {
    const answer = await get(balancer.url, '/', { host: 'www.rejected.com' });
    expect(answer.status).toBe(403);
    expect(answer.body).toBe('Forbidden\n');
  });
});

describe('the client address over HTTP', () => {
  it('is not changed by a spoofed X-Forwarded-For from a client that is no trusted proxy', async () => {
    expect((await get(balancer.url, '/', { host: 'www.rejected.com', 'x-forwarded-for': '198.51.100.1' })).status).toBe(403);
    const allowed = await get(balancer.url, '/', { host: 'www.allowed.com', 'x-forwarded-for': '198.51.100.1' });
    expect(allowed.status).toBe(200);
    expect(echoed(allowed).headers['x-real-ip']).toBe('127.0.0.1');
    expect(echoed(allowed).headers['x-forwarded-for']).toBe('198.51.100.1, 127.0.0.1');
  });

  it('is taken from X-Forwarded-For when the peer is a trusted proxy', async () => {
    expect((await get(trusting.url, '/', { host: 'www.rejected.com', 'x-forwarded-for': '203.0.113.9' })).status).toBe(403);
    expect((await get(trusting.url, '/', { host: 'www.rejected.com', 'x-forwarded-for': '198.51.100.1' })).status).toBe(200);
  });
});

describe('more rules over HTTP', () => {
  it('sends the configured upstream Host and a request id both ways', async () => {
    const answer = await get(balancer.url, '/', { host: 'www.allowed.com' });
    const seen = echoed(answer);
    expect(seen.headers.host).toBe('api.internal:8443');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers['x-request-id']).toBe(seen.headers['x-request-id']);
  });

  it('answers 429 with Retry-After past the rate limit', async () => {
    const statuses = [];
    let last: Answer | undefined;
    for (let i = 0; i < 3; i++) {
      last = await get(balancer.url, '/', { host: 'www.limited.com' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(last!.body).toBe('Too Many Requests\n');
  });
});
