import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// The status page as a person sees it: `switchyard serve --admin` from the build (run
// `npm run build` first), three real backends on loopback, and Debian's Chromium, headless, reading
// GET /status. `SWITCHYARD_DOCS_SCREENSHOT=1` also writes the README's picture,
// docs/images/status-page.png, at the moment one backend is down.

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');
const SEEN_WITHIN = 10_000;

let a: TestBackend;
let b: TestBackend;
let c: TestBackend;
let bAgain: Server | undefined;
let balancer: RunningBalancer;
let admin: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  [a, b, c] = await Promise.all([startTestBackend('a'), startTestBackend('b'), startTestBackend('c')]);
  // One failed or passed probe changes state, every half second: a kill shows within about a second.
  balancer = await startBalancer(
    `
health_check: { interval: 500ms, jitter: 100ms, timeout: 300ms, healthy_threshold: 1, unhealthy_threshold: 1 }
hosts:
  - host: www.mango.com
    servers: [${a.address}, { url: "${b.address}", weight: 3 }]
    algorithm: least_connections
paths:
  - path: /apple
    servers: [${b.address}]
  - path: /
    servers: [${a.address}, ${b.address}, ${c.address}]
    algorithm: round_robin
`,
    ['--admin', '127.0.0.1:0'],
  );
  await waitFor(() => /admin listening on http:\/\/\S+/.test(balancer.output()), 10_000, 'an "admin listening on" line');
  admin = /admin listening on (http:\/\/\S+)/.exec(balancer.output())![1];
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 420 } });
  await page.goto(`${admin}/status`);
}, 60_000); // Chromium alone took 6 s to start on a busy machine

afterAll(async () => {
  await browser?.close();
  await balancer?.stop('SIGKILL');
  bAgain?.closeAllConnections();
  await Promise.all([a?.close(), b?.close(), c?.close(), bAgain && new Promise((resolve) => bAgain!.close(resolve))]);
});

describe('the status page in a real browser', () => {
  it('shows every route with its algorithm and pool, and every backend up in green', async ({ onTestFailed }) => {
    onTestFailed(() => failureScreenshot('routes'));
    for (const backend of [a, b, c]) expect(await seesBackend(backend.address, 'up')).toBe('green');
    expect(await page.locator('#counts').innerText()).toBe('3 backends: 3 up · 0 down · 0 ejected · 0 draining');
    expect(await routeCells('www.mango.com')).toEqual(['www.mango.com', 'www.mango.com /', 'least_connections', '2 of 2 up', `${a.address} ${b.address} ×3`]);
    expect(await routeCells('/apple')).toEqual(['/apple', '* /apple', 'random', '1 of 1 up', b.address]);
    expect(await routeCells('/')).toEqual(['/', '* /', 'round_robin', '3 of 3 up', `${a.address} ${b.address} ${c.address}`]);
    expect(await page.locator('#source').innerText()).toMatch(/^\/.*lb\.yaml$/);
  });

  it('shows a backend drained through the admin API in blue as "draining", and a weight set at run time', async ({ onTestFailed }) => {
    onTestFailed(() => failureScreenshot('run-time'));
    expect((await fetch(`${admin}/api/backends/${c.address}/drain`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${admin}/api/backends/${a.address}/weight`, { method: 'PUT', body: '5' })).status).toBe(200);
    expect(await seesBackend(c.address, 'draining')).toBe('blue');
    expect(await backendCell(c.address, 'changes')).toBe('drained at run time');
    await page.locator(`tr[data-backend="${a.address}"] td.changes`, { hasText: 'weight set to 5 at run time' }).waitFor({ timeout: SEEN_WITHIN });
    expect(await backendCell(a.address, 'weight')).toBe('5');
  });

  it('turns a killed backend red and "down" within seconds, and green and "up" again when it returns', async ({ onTestFailed }) => {
    onTestFailed(() => failureScreenshot('kill'));
    // Traffic first, so the screenshot shows rates; none after the kill, which could eject b
    // rather than let its probes take it down.
    for (let i = 0; i < 12; i++) expect((await fetch(`${balancer.url}/`)).status).toBe(200);
    await b.close();
    expect(await seesBackend(b.address, 'down')).toBe('red');
    expect(await seesBackend(a.address, 'up')).toBe('green');
    expect(await page.locator('#counts').innerText()).toBe('3 backends: 1 up · 1 down · 0 ejected · 1 draining');
    expect((await routeCells('/apple'))[3]).toBe('0 of 1 up');
    await screenshot(join(ARTIFACTS, 'status-page.png'));
    if (process.env.SWITCHYARD_DOCS_SCREENSHOT) await screenshot(join(PROJECT_ROOT, 'docs/images/status-page.png'));

    bAgain = await listenOn(b.port);
    expect(await seesBackend(b.address, 'up')).toBe('green');
    expect(await page.locator('#counts').innerText()).toBe('3 backends: 2 up · 0 down · 0 ejected · 1 draining');
  });

  it('says the status is unavailable and keeps the last data, dimmed, when the balancer is gone', async ({ onTestFailed }) => {
    onTestFailed(() => failureScreenshot('gone'));
    await balancer.stop('SIGKILL');
    const banner = page.locator('#banner');
    await banner.waitFor({ state: 'visible', timeout: SEEN_WITHIN });
    expect(await banner.innerText()).toMatch(/^Status unavailable, retrying/);
    expect(await page.locator('body').getAttribute('class')).toContain('stale');
    expect(await page.locator(`tr[data-backend="${a.address}"] .badge`).innerText()).toBe('up');
  });
});

/**
 * Waits until the backend's row says `health`, then checks what a person sees: the word on its
 * badge, and the badge's colour, returned as a word.
 */
async function seesBackend(name: string, health: string): Promise<string> {
  const row = page.locator(`tr[data-backend="${name}"][data-health="${health}"]`);
  await row.waitFor({ state: 'visible', timeout: SEEN_WITHIN });
  const badge = row.locator('.badge');
  expect(await badge.innerText()).toBe(health);
  expect(await badge.getAttribute('class')).toContain(`health-${health}`);
  return colourName(await badge.evaluate((element) => getComputedStyle(element).backgroundColor));
}

async function backendCell(backend: string, column: string): Promise<string> {
  return page.locator(`tr[data-backend="${backend}"] td.${column}`).innerText();
}

async function routeCells(route: string): Promise<string[]> {
  return (await page.locator(`tr[data-route="${route}"] td`).allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());
}

/** `rgb(26, 127, 55)` as the colour word a person would use for it. */
function colourName(css: string): string {
  const [r, g, b] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((part) => Number(part) / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max === 0 || (max - min) / max < 0.2) return `grey (${css})`;
  const hue = max === r ? (60 * ((g - b) / (max - min)) + 360) % 360 : max === g ? 60 * ((b - r) / (max - min)) + 120 : 60 * ((r - g) / (max - min)) + 240;
  if (hue < 15 || hue >= 340) return 'red';
  if (hue < 45) return 'orange';
  if (hue < 70) return 'yellow';
  if (hue < 170) return 'green';
  if (hue < 260) return 'blue';
  return `purple (${css})`;
}

async function screenshot(path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await page.screenshot({ path, fullPage: true });
}

async function failureScreenshot(step: string): Promise<void> {
  await screenshot(join(ARTIFACTS, `status-page-failed-${step}.png`)).catch(() => {});
}

/** A bare backend on `port`, as when the killed one is started again. */
async function listenOn(port: number): Promise<Server> {
  const server = createServer((req, res) => void req.resume().on('end', () => res.end('ok\n')));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}
