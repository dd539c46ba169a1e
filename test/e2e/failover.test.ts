import { Agent, createServer, request, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { deadPort } from '../helpers/deadPort.ts';

// Health checks, passive ejection and retries over real loopback HTTP, against `switchyard serve`
// from the build (run `npm run build` first).

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close().catch(() => {})));
});

async function balancerFor(config: string): Promise<RunningBalancer> {
  const balancer = await startBalancer(config);
  cleanup.push(() => balancer.stop());
  return balancer;
}

async function backend(name: string): Promise<TestBackend> {
  const started = await startTestBackend(name);
  cleanup.push(() => started.close());
  return started;
}


/** A bare backend on a given port, as when a killed backend is started again. */
async function revive(name: string, port: number): Promise<{ served: () => number; server: Server }> {
  let served = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/healthcheck') served++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'x-served-by': name }).end('ok\n'));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  return { served: () => served, server };
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

interface Answer {
  status: number;
  servedBy?: string;
  body: string;
}

function send(url: string, path: string, options: { host?: string; method?: string; body?: Buffer } = {}): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.host) headers.host = options.host;
    if (options.body) headers['content-length'] = String(options.body.length);
    const req = request({ hostname, port, path, method: options.method ?? 'GET', headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, servedBy: res.headers['x-served-by'] as string | undefined, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const until = (condition: () => boolean | Promise<boolean>, timeoutMs: number) => waitFor(condition, timeoutMs, 'condition');

describe('failover over real backends', () => {
  it('loses no GET when one of three backends is killed under load, and uses it again once it is back', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(backend));
    const balancer = await balancerFor(`
health_check: { interval: 200ms, jitter: 50ms, healthy_threshold: 2, unhealthy_threshold: 2 }
passive_health: { failures: 3, cooldown: 300ms }
paths:
  - path: /
    servers: [${a.address}, ${b.address}, ${c.address}]
`);
    const answers: Answer[] = [];
    const errors: unknown[] = [];
    let running = true;
    const workers = Array.from({ length: 8 }, async () => {
      while (running) {
        await send(balancer.url, '/load').then((answer) => answers.push(answer), (error) => errors.push(error));
      }
    });
    await until(() => answers.length > 200, 5_000);
    await b.close(); // killed mid-load: open connections are cut, new ones refused
    const killedAt = answers.length;
    await until(() => answers.length > killedAt + 600, 10_000);
    const revived = await revive('b-again', b.port);
    await until(() => revived.served() > 20, 10_000);
    running = false;
    await Promise.all(workers);

    expect(errors).toEqual([]);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(answers.some((answer) => answer.servedBy === 'b-again')).toBe(true);
    expect(balancer.output()).toMatch(new RegExp(`health: http://127\\.0\\.0\\.1:${b.port} (is DOWN|ejected)`));
  });

  it('with probes switched off, ejects a killed backend on real failures and still loses no GET', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(backend));
    const balancer = await balancerFor(`
health_check: false
paths:
  - path: /
    servers: [${a.address}, ${b.address}, ${c.address}]
`);
    const statuses: number[] = [];
    let running = true;
    const workers = Array.from({ length: 4 }, async () => {
      while (running) statuses.push((await send(balancer.url, '/load')).status);
    });
    await until(() => statuses.length > 100, 5_000);
    await b.close();
    await until(() => /ejected for 10s/.test(balancer.output()), 5_000);
    const ejectedAt = statuses.length;
    await until(() => statuses.length > ejectedAt + 200, 5_000);
    running = false;
    await Promise.all(workers);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(balancer.output()).toMatch(new RegExp(`health: http://127\\.0\\.0\\.1:${b.port} ejected for 10s: GET /load -> (cannot connect|failed)`));
  });

  it("answers the tutorial's apple host from its one live backend, skipping the dead ones from the first request", async () => {
    const live = await backend('apple');
    const [dead1, dead2] = await Promise.all([deadPort(), deadPort()]);
    const balancer = await balancerFor(`
hosts:
  - host: www.apple.com
    servers: [${live.address}, 127.0.0.1:${dead1}, 127.0.0.1:${dead2}]
`);
    // Bodies too large to buffer cannot be retried: only knowing the dead backends before the
    // first request keeps these from failing.
    const body = Buffer.alloc(200_000, 'p');
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(balancer.url, '/upload', { host: 'www.apple.com', method: 'POST', body })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((answer) => answer.servedBy))).toEqual(new Set(['apple']));
    expect(JSON.parse(answers[0].body).bytes).toBe(200_000);
    const echoed = JSON.parse((await send(balancer.url, '/', { host: 'www.apple.com' })).body);
    expect(echoed.headers.host).toBe('www.apple.com');
    expect(balancer.output()).toContain(`health: http://127.0.0.1:${dead1} is DOWN: GET /healthcheck -> cannot connect`);
  });

  it('answers 503 naming the route when every backend is down', async () => {
    const [dead1, dead2] = await Promise.all([deadPort(), deadPort()]);
    const balancer = await balancerFor(`
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:${dead1}, 127.0.0.1:${dead2}]
`);
    const answer = await send(balancer.url, '/', { host: 'www.mango.com' });
    expect(answer.status).toBe(503);
    expect(answer.body).toBe('Service Unavailable: no healthy backend for www.mango.com\n');
  });

  it('says in the log why a backend failed its check and how to fix the config', async () => {
    const app = await backend('no-health-path');
    const balancer = await balancerFor(`
health_check: { path: /status/404 }
paths:
  - path: /
    servers: [${app.address}]
`);
    const line = `health: http://${app.address} is DOWN: GET /status/404 -> 404 (first check); if the app does not serve /status/404, set health_check.path`;
    // The log goes to stderr, the listening line to stdout: separate pipes, read in either order.
    await until(() => balancer.output().includes(line), 5_000);
    expect(balancer.output()).toContain(line);
    expect((await send(balancer.url, '/')).status).toBe(503);
  });
});
