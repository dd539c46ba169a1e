import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { deadPort } from '../helpers/deadPort.ts';

// Every 5xx the balancer answers itself is logged on stderr with its cause, a few lines a second
// per cause at most: `switchyard serve` from the build (run `npm run build` first).

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close().catch(() => {})));
});

async function balancerFor(config: string): Promise<RunningBalancer> {
  const balancer = await startBalancer(config);
  cleanup.push(() => balancer.stop());
  return balancer;
}


/** An HTTPS backend whose certificate nobody signed: a throwaway key and certificate made now, with openssl. */
async function selfSignedBackend(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-tls-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const server = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (_, res) => res.end('secret\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  return (server.address() as AddressInfo).port;
}

/** A GET for www.mango.com (node:http: fetch will not send a Host of its own). */
function get(balancer: RunningBalancer, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(`${balancer.url}${path}`, { headers: { host: 'www.mango.com' }, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

const logLines = (balancer: RunningBalancer) => balancer.output().split('\n').filter((line) => line.startsWith('switchyard: 5'));

describe('the error log on stderr', () => {
  it('names the backend and the refused connection behind a 503', async () => {
    const port = await deadPort();
    const balancer = await balancerFor(`
health_check: false
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:${port}]
`);
    expect(await get(balancer, '/x')).toEqual({ status: 503, body: 'Service Unavailable: no healthy backend for www.mango.com\n' });
    const line = `switchyard: 503 GET /x on route www.mango.com: no backend could be connected to: backend http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`;
    await waitFor(() => balancer.output().includes(line), 5000, 'the 503 line');
    expect(logLines(balancer)).toEqual([line]);
  });

  it('names the TLS error behind a 502 from a backend with a self-signed certificate', async () => {
    const port = await selfSignedBackend();
    const balancer = await balancerFor(`
health_check: false
hosts:
  - host: www.mango.com
    servers: [https://localhost:${port}]
`);
    expect(await get(balancer, '/secret')).toEqual({ status: 502, body: 'Bad Gateway\n' });
    const line = `switchyard: 502 GET /secret on route www.mango.com: backend https://localhost:${port}: tls: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`;
    await waitFor(() => balancer.output().includes(line), 5000, 'the 502 line');
    expect(logLines(balancer)).toEqual([line]);
  });

  it('logs an outage in a few lines, then one that counts the rest', async () => {
    const port = await deadPort();
    const balancer = await balancerFor(`
health_check: false
passive_health: false
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:${port}]
`);
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => get(balancer, `/x/${i}`).then((answer) => answer.status)));
    expect(statuses).toEqual(Array(30).fill(503));
    // Every request is accounted for: in a line of its own, or counted in one once its second is over.
    const accounted = () => logLines(balancer).reduce((sum, line) => sum + (line.endsWith('more like it') ? Number(/and (\d+) more/.exec(line)![1]) : 1), 0);
    await waitFor(() => accounted() === 30, 5000, 'every request accounted for');
    const lines = logLines(balancer);
    const own = lines.filter((line) => line.startsWith('switchyard: 503 GET /x/'));
    // Five lines a second at most: the 30 requests may straddle a second on a busy machine, not six.
    expect(own.length).toBeGreaterThanOrEqual(5);
    expect(own.length).toBeLessThanOrEqual(10);
    const counts = lines.filter((line) => !own.includes(line));
    expect(counts.length).toBeGreaterThanOrEqual(1);
    for (const line of counts) {
      expect(line).toMatch(/^switchyard: 503 on route www\.mango\.com: no backend could be connected to: backend http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+ \.\.\. and \d+ more like it$/);
    }
  });
});
