import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, writeConfig } from '../helpers/startBalancer.ts';
import { serveProcess, type ServeProcess } from '../helpers/serveProcess.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { cli } from '../helpers/runCli.ts';

// Issue 15, point 7: `switchyard explain` from the build (run `npm run build` first), and
// `GET /api/explain` on the admin listener of a running balancer.

describe('switchyard explain', () => {
  it('explains the quick start request and exits 0: it would be forwarded', async () => {
    const { code, stdout } = await cli('explain', '--config', 'examples/loadbalancer.yaml', 'http://www.mango.com/v1/items?RemoveMe=Remove', '--from', '127.0.0.1');
    expect(code).toBe(0);
    expect(stdout).toContain('path      /v1/items (normalised)');
    expect(stdout).toContain('route     ✓ www.mango.com  (hosts[0])  host and path');
    expect(stdout).toContain('            path: /v1/items → /v2/items');
    expect(stdout).toMatch(/^verdict   forwarded to the route's own pool \(GET \/v2\/items\?MyCustomParam=Test\) \(exit 0\)$/m);
  });

  it("prints what the README's quick start shows, line for line", async () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const block = /```sh\n\$ npx switchyard (explain [^\n]+)\n([\s\S]*?)```/.exec(readme);
    expect(block, 'an explain example in the README').not.toBeNull();
    const args = block![1].match(/'[^']*'|\S+/g)!.map((arg) => arg.replace(/^'(.*)'$/, '$1'));
    const { code, stdout } = await cli(...args);
    expect(code).toBe(0);
    expect(stdout).toBe(block![2]);
  });

  it('exits 1 when the balancer would answer itself: 404, and 403 for a client the firewall refuses (--from)', async () => {
    const missing = await cli('explain', '-c', 'examples/loadbalancer.yaml', 'http://nowhere.test/');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^verdict   answers 404 itself: no route serves host nowhere.test and path \/ \(exit 1\)$/m);
    const refused = await cli('explain', '-c', 'examples/loadbalancer.yaml', '--from', '10.192.0.1', 'http://www.mango.com/');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('guards    ✗ firewall_rules  hosts[0]  firewall: ip_reject');
  });

  it('reads -X and repeated -H, and prints the documented JSON with --json', async () => {
    const file = await writeConfig(`
health_check: false
hosts:
  - host: api.test
    match: { methods: [POST], headers: { x-version: "2" } }
    servers: [localhost:8082]
  - host: api.test
    servers: [localhost:8081]
`);
    const { code, stdout } = await cli('explain', '--config', file, '-X', 'post', '-H', 'X-Version: 2', '-H', 'X-Other: a', '--json', 'http://api.test/items');
    expect(code).toBe(0);
    const explanation = JSON.parse(stdout);
    expect(Object.keys(explanation)).toEqual(['request', 'path', 'routes', 'other_routes', 'route', 'guards', 'rules', 'gates', 'target', 'mirror', 'compress', 'verdict']);
    expect(explanation.request).toEqual({
      method: 'POST',
      url: 'http://api.test/items',
      from: null,
      client: null,
      headers: [
        ['host', 'api.test'],
        ['x-version', '2'],
        ['x-other', 'a'],
      ],
    });
    expect(explanation.routes).toEqual([{ route: 'api.test', at: 'hosts[0]', matched: true, why: 'match: methods in POST, headers.x-version = "2"' }]);
    expect(explanation.target).toEqual({ kind: 'pool', pool: null, algorithm: 'random', backends: [{ backend: 'localhost:8082', weight: 1, health: 'unknown', pickable: true }] });
    expect(explanation.verdict).toEqual({ forwarded: true, status: null, why: "forwarded to the route's own pool (POST /items)", provided: [] });
  });

  it('exits 2 with a clear message for a URL that is not one, a bad -H, a missing URL, and a broken config (printed as check prints it)', async () => {
    const badUrl = await cli('explain', '-c', 'examples/loadbalancer.yaml', 'www.mango.com/x');
    expect(badUrl).toMatchObject({ code: 2, stdout: '' });
    expect(badUrl.stderr.trim()).toBe(`switchyard explain: "www.mango.com/x" is not a URL: give http://HOST/PATH, https://HOST/PATH, or /PATH with -H 'Host: HOST'`);
    const badHeader = await cli('explain', '-c', 'examples/loadbalancer.yaml', '-H', 'nocolon', 'http://www.mango.com/');
    expect(badHeader.code).toBe(2);
    expect(badHeader.stderr).toContain(`"nocolon" is not a header field: write it as 'Name: value'`);
    expect((await cli('explain', '-c', 'examples/loadbalancer.yaml')).code).toBe(2);
    const file = await writeConfig('paths:\n  - path: /\n    servrs: [localhost:1]\n');
    const broken = await cli('explain', '--config', file, 'http://x.test/');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`${file}:3:5: paths[0].servrs: unknown key "servrs"; did you mean "servers"?`);
  });

  it('lists explain in --help', async () => {
    const { code, stdout } = await cli('explain', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain("explain --config FILE [-X METHOD] [-H 'Name: value']... [--from ADDRESS] URL [--json]");
  });
});

const TOKEN = 'explain-token-0123456789';

/** A GET with the Host of our choosing (fetch will not send one). */
function get(url: string, host: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = request(url, { headers, agent: false, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(['node', 'deno'] as const)('GET /api/explain on %s', (runtime) => {
  let a: TestBackend;
  let b: TestBackend;
  let served: ServeProcess;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestBackend('a'), startTestBackend('b')]);
    served = await serveProcess(
      runtime,
      `health_check: { interval: 200ms, jitter: 50ms, timeout: 1s }
admin: { address: "127.0.0.1:0", token: "${TOKEN}" }
rate_limit: { requests: 1, per: 1m }
hosts:
  - host: rr.test
    algorithm: round_robin
    servers: [${a.address}, ${b.address}]
`,
      { admin: true, args: ['--access-log', 'off'] },
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([served?.stop(), a?.close(), b?.close()]);
  });

  const explainUrl = (query: string) => `${served.adminUrl}/api/explain?${query}`;

  it('answers the JSON explanation with the token, 401 without it, and 403 to a Host that is not loopback', async () => {
    const query = `url=${encodeURIComponent('http://rr.test/x')}&method=GET&header=${encodeURIComponent('X-A: 1')}&from=127.0.0.1`;
    const answer = await get(explainUrl(query), '127.0.0.1', TOKEN);
    expect(answer.status).toBe(200);
    const explanation = JSON.parse(answer.body);
    expect(explanation.route).toBe('rr.test');
    expect(explanation.request.headers).toEqual([
      ['host', 'rr.test'],
      ['x-a', '1'],
    ]);
    expect(explanation.verdict.forwarded).toBe(true);
    expect((await get(explainUrl(query), '127.0.0.1')).status).toBe(401);
    expect((await get(explainUrl(query), 'evil.example', TOKEN)).status).toBe(403);
  });

  it('answers 400 saying why for a query it cannot explain, and bounds the header count', async () => {
    const missing = await get(explainUrl(''), '127.0.0.1', TOKEN);
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body).error).toMatch(/^give the request as \?url=/);
    const tooMany = await get(explainUrl(`url=/&${Array(201).fill('header=a:1').join('&')}`), '127.0.0.1', TOKEN);
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.body).error).toBe('more than 200 header parameters');
  });

  it('spends no rate-limit token of the running balancer, and shows live health: a backend killed shows as down', async () => {
    const query = `url=${encodeURIComponent('http://rr.test/x')}&from=127.0.0.1`;
    await waitFor(async () => JSON.parse((await get(explainUrl(query), '127.0.0.1', TOKEN)).body).target.backends.every((backend: { health: string }) => backend.health === 'up'), 10_000, 'both backends up');
    for (let i = 0; i < 3; i++) await get(explainUrl(query), '127.0.0.1', TOKEN);
    // One token a minute: explained four times over, the real request still gets it.
    expect((await get(`${served.url}/x`, 'rr.test')).status).toBe(200);
    // Spent by that request, the bucket is seen empty.
    expect(JSON.parse((await get(explainUrl(query), '127.0.0.1', TOKEN)).body).verdict).toMatchObject({ forwarded: false, status: 429 });

    await b.close();
    const another = `url=${encodeURIComponent('http://rr.test/x')}&from=127.0.0.2`;
    await waitFor(
      async () => {
        const backends = JSON.parse((await get(explainUrl(another), '127.0.0.1', TOKEN)).body).target.backends;
        return backends.some((backend: { backend: string; health: string; pickable: boolean }) => backend.backend === b.address && backend.health === 'down' && !backend.pickable);
      },
      10_000,
      'the killed backend to show as down',
    );
  });
});
