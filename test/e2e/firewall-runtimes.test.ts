import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../conformance/client.ts';
import { RUNTIME_FACTS, RUNTIME_NAMES, startOnRuntime, type RuntimeBalancer } from '../helpers/runtimes.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';

// Rules, firewall and rate limiting on every runtime, started the way users start it: the
// `switchyard serve` build, `deno task serve`, and `wrangler dev` (workerd) with LB_CONFIG.

describe.each(RUNTIME_NAMES)('rules and firewall on %s', (runtime) => {
  let mango: TestBackend;
  let balancer: RuntimeBalancer;

  beforeAll(async () => {
    mango = await startTestBackend('mango');
    const config = {
      hosts: [
        {
          host: 'www.mango.com',
          firewall_rules: { ip_reject: ['10.192.0.1', '10.192.0.2'], path_reject: ['/messages', '/apps'] },
          header_rules: { add: { MyCustomHeader: 'Test' }, remove: { Host: 'www.mango.com' } },
          param_rules: { add: { MyCustomParam: 'Test' }, remove: { RemoveMe: 'Remove' } },
          rewrite_rules: { replace: { v1: 'v2' } },
          response_header_rules: { set: { 'X-Request-Id': '${request_id}' } },
          servers: [mango.address],
        },
        { host: 'www.rejected.com', firewall_rules: { ip_reject: ['127.0.0.0/8', '::1'] }, servers: [mango.address] },
        { host: 'www.limited.com', rate_limit: { requests: 2, per: '1m' }, servers: [mango.address] },
        { host: 'www.renamed.com', upstream_host: 'api.internal:8443', servers: [mango.address] },
      ],
    };
    balancer = await startOnRuntime(runtime, JSON.stringify(config));
  }, 90_000);

  afterAll(async () => {
    await balancer?.stop();
    await mango?.close();
  });

  const get = (path: string, host: string, headers: Record<string, string> = {}) => send(balancer.url, path, { headers: { host, ...headers } });

  it("applies the tutorial's header, query and path rules", async () => {
    const reply = await get('/v1?RemoveMe=Remove&keep=1', 'www.mango.com');
    expect(reply.status).toBe(200);
    const seen = reply.json<EchoedRequest>();
    expect(seen.url).toBe('/v2?keep=1&MyCustomParam=Test');
    expect(seen.headers.mycustomheader).toBe('Test');
    expect(seen.headers.host).toBe(mango.address);
    expect(reply.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each(['/messages', '/apps/1', '/MESSAGES', '/%6Dessages', '/x/%2e%2E/messages', '//messages//1', '/messages?x=1'])('answers 403 for %s', async (path) => {
    expect((await get(path, 'www.mango.com')).status).toBe(403);
  });

  it('answers 200 for /pictures', async () => {
    expect((await get('/pictures', 'www.mango.com')).status).toBe(200);
  });

  it('answers 403 to a rejected client address, whatever X-Forwarded-For says', async () => {
    expect((await get('/', 'www.rejected.com')).status).toBe(403);
    expect((await get('/', 'www.rejected.com', { 'x-forwarded-for': '198.51.100.1' })).status).toBe(403);
  });

  it('answers 429 with Retry-After past the rate limit', async () => {
    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 3; i++) {
      const reply = await get('/', 'www.limited.com');
      statuses.push(reply.status);
      retryAfter = reply.headers['retry-after'];
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it(
    RUNTIME_FACTS[runtime].keepsClientHost ? 'sends the upstream_host it is given' : "sends the backend's own Host whatever upstream_host says (workerd's fetch cannot override it)",
    async () => {
      const seen = (await get('/', 'www.renamed.com')).json<EchoedRequest>();
      expect(seen.headers.host).toBe(RUNTIME_FACTS[runtime].keepsClientHost ? 'api.internal:8443' : mango.address);
    },
  );
});
