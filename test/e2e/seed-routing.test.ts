import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';

// The seed article's six routing cases, over real HTTP: host routing to mango, apple and an
// unknown host; path routing to /mango, /apple and an unknown path.

let backends: TestBackend[];
let balancer: RunningBalancer;

beforeAll(async () => {
  backends = await Promise.all(['mango1', 'mango2', 'apple1', 'apple2'].map((name) => startTestBackend(name)));
  const [mango1, mango2, apple1, apple2] = backends.map((b) => b.address);
  balancer = await startBalancer(`
hosts:
  - host: www.mango.com
    servers: [${mango1}, ${mango2}]
  - host: www.apple.com
    servers: [${apple1}, ${apple2}]
paths:
  - path: /mango
    servers: [${mango1}, ${mango2}]
  - path: /apple
    servers: [${apple1}, ${apple2}]
`);
});

afterAll(async () => {
  await balancer?.stop();
  await Promise.all(backends.map((b) => b.close()));
});

async function servedBy(path: string, host?: string): Promise<{ status: number; name?: string; body: string }> {
  const { hostname, port } = new URL(balancer.url);
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        const name = res.headers['content-type']?.includes('json') ? (JSON.parse(body) as EchoedRequest).name : undefined;
        resolve({ status: res.statusCode ?? 0, name, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('host routing', () => {
  it('sends www.mango.com to a mango backend', async () => {
    const { status, name } = await servedBy('/', 'www.mango.com');
    expect(status).toBe(200);
    expect(name).toMatch(/^mango[12]$/);
  });

  it('sends www.apple.com to an apple backend', async () => {
    const { status, name } = await servedBy('/', 'www.apple.com');
    expect(status).toBe(200);
    expect(name).toMatch(/^apple[12]$/);
  });

  it('answers 404 Not Found for an unknown host', async () => {
    expect(await servedBy('/', 'www.notmango.com')).toEqual({ status: 404, name: undefined, body: 'Not Found\n' });
  });
});

describe('path routing', () => {
  it('sends /mango to a mango backend', async () => {
    const { status, name } = await servedBy('/mango', 'localhost');
    expect(status).toBe(200);
    expect(name).toMatch(/^mango[12]$/);
  });

  it('sends /apple to an apple backend', async () => {
    const { status, name } = await servedBy('/apple', 'localhost');
    expect(status).toBe(200);
    expect(name).toMatch(/^apple[12]$/);
  });

  it('answers 404 Not Found for an unknown path', async () => {
    expect(await servedBy('/notfound', 'localhost')).toEqual({ status: 404, name: undefined, body: 'Not Found\n' });
  });

  it('routes by the normalised path and answers 400 for one that cannot be normalised', async () => {
    expect((await servedBy('/x/../%61pple//y', 'localhost')).name).toMatch(/^apple[12]$/);
    expect((await servedBy('/apple%2F..%2Fmango', 'localhost')).status).toBe(400);
  });

  it('spreads requests over both backends of a route at random', async () => {
    const names = new Set<string | undefined>();
    for (let i = 0; i < 40; i++) names.add((await servedBy('/mango', 'localhost')).name);
    expect(names).toEqual(new Set(['mango1', 'mango2']));
  });
});
