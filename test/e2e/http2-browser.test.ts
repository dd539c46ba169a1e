import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveProcess, type ServeProcess } from '../helpers/serveProcess.ts';

// A real browser loads a page through a TLS listener over HTTP/2 (issue 14 point 6): Debian's
// Chromium, driven by playwright-core, negotiates h2 by ALPN for the page and what it loads.

const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'switchyard-h2-browser-'));
let backend: Server;
let balancer: ServeProcess;
let url: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=shop.test', '-addext', 'subjectAltName=DNS:shop.test', '-keyout', join(dir, 'shop.key'), '-out', join(dir, 'shop.crt')]);
  backend = createServer((request, response) => {
    if (request.url === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      return void response.end("document.getElementById('said').textContent = 'script loaded';");
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>shop</title><h1>Shop</h1><p id="said">no script</p><script src="/app.js"></script>');
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  writeFileSync(
    join(dir, 'lb.yaml'),
    `listen:
  - address: 127.0.0.1:0
    tls:
      certificates: [{ cert: shop.crt, key: shop.key }]
hosts:
  - host: shop.test
    servers: [127.0.0.1:${(backend.address() as AddressInfo).port}]
    health_check: false
`,
  );
  // The test's certificate is self-signed: the browser is told to accept it, and to find shop.test on loopback.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--host-resolver-rules=MAP shop.test 127.0.0.1'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => backend?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe.each(['node', 'deno'] as const)('a browser through a TLS listener on %s', (runtime) => {
  beforeAll(async () => {
    balancer = await serveProcess(runtime, { file: join(dir, 'lb.yaml') }, { loopback: false, args: ['--access-log', 'off'] });
    url = `https://shop.test:${new URL(balancer.url).port}`;
  }, 40_000);

  afterAll(() => balancer?.stop());

  it('loads a page and its script over HTTP/2', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const response = await page.goto(`${url}/`);
    expect(response?.status()).toBe(200);
    await page.waitForFunction(() => document.getElementById('said')?.textContent === 'script loaded', undefined, { timeout: 10_000 });
    const protocols = await page.evaluate(() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map((entry) => (entry as PerformanceResourceTiming).nextHopProtocol));
    // The page, its script, and whatever else the browser fetched on its own: all over h2.
    expect(protocols.length).toBeGreaterThanOrEqual(2);
    expect(new Set(protocols)).toEqual(new Set(['h2']));
    await context.close();
  }, 30_000);
});
