import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { ErrorLog } from '../../src/core/ErrorLog.ts';
import { startHealthChecks } from '../../src/core/health/startHealthChecks.ts';
import type { Upstream } from '../../src/core/Upstream.ts';
import { UpstreamError, upstreamErrorOf } from '../../src/core/UpstreamError.ts';
import { manualClock } from '../helpers/manualClock.ts';

const mango = { method: 'GET', path: '/x', route: { name: 'www.mango.com' } };
const refused = 'backend http://127.0.0.1:9081: connect ECONNREFUSED 127.0.0.1:9081';

function logged(options: { linesPerCause?: number; maxCauses?: number } = {}) {
  const clock = manualClock();
  const lines: string[] = [];
  const log = new ErrorLog((line) => lines.push(line), { now: clock.now, timers: clock.timers, ...options });
  return { clock, lines, log };
}

describe('ErrorLog', () => {
  it('logs a 5xx with its status, method, path, route and cause', () => {
    const { lines, log } = logged();
    log.failed(502, mango, refused);
    log.failed(500, { method: 'POST', path: '/form' }, 'internal error: TypeError: x is undefined');
    expect(lines).toEqual([
      `switchyard: 502 GET /x on route www.mango.com: ${refused}`,
      'switchyard: 500 POST /form: internal error: TypeError: x is undefined',
    ]);
  });

  it('writes at most linesPerCause lines of a cause per window, and counts the rest when the window is over', async () => {
    const { clock, lines, log } = logged({ linesPerCause: 2 });
    for (let i = 0; i < 44; i++) log.failed(502, { ...mango, path: `/x/${i}` }, refused);
    expect(lines).toEqual([`switchyard: 502 GET /x/0 on route www.mango.com: ${refused}`, `switchyard: 502 GET /x/1 on route www.mango.com: ${refused}`]);
    await clock.advance(999);
    expect(lines).toHaveLength(2);
    await clock.advance(1);
    expect(lines.slice(2)).toEqual([`switchyard: 502 on route www.mango.com: ${refused} ... and 42 more like it`]);
    // The next window starts with lines again.
    log.failed(502, mango, refused);
    expect(lines.slice(3)).toEqual([`switchyard: 502 GET /x on route www.mango.com: ${refused}`]);
    expect(clock.pending()).toBe(0);
  });

  it('counts each cause on its own: another status, route or cause has lines of its own', () => {
    const { lines, log } = logged({ linesPerCause: 1 });
    log.failed(502, mango, refused);
    log.failed(502, mango, refused);
    log.failed(503, mango, refused);
    log.failed(502, { ...mango, route: { name: '/apple' } }, refused);
    log.failed(502, mango, 'backend http://127.0.0.1:9082: connect ECONNREFUSED 127.0.0.1:9082');
    expect(lines.map((line) => line.slice(0, line.indexOf(': backend')))).toEqual([
      'switchyard: 502 GET /x on route www.mango.com',
      'switchyard: 503 GET /x on route www.mango.com',
      'switchyard: 502 GET /x on route /apple',
      'switchyard: 502 GET /x on route www.mango.com',
    ]);
  });

  it('counts the held lines at the next failure when no timer ran (Workers: timers do not outlive a request)', () => {
    let now = 0;
    const lines: string[] = [];
    const log = new ErrorLog((line) => lines.push(line), { now: () => now, timers: { setTimeout: () => 0, clearTimeout: () => {} }, linesPerCause: 1 });
    log.failed(504, mango, 'backend http://a:1: no response headers within 5 ms');
    log.failed(504, mango, 'backend http://a:1: no response headers within 5 ms');
    now = 1500;
    log.failed(503, mango, 'no healthy backend: all 2 backends are down by health checks');
    expect(lines).toEqual([
      'switchyard: 504 GET /x on route www.mango.com: backend http://a:1: no response headers within 5 ms',
      'switchyard: 504 on route www.mango.com: backend http://a:1: no response headers within 5 ms ... and 1 more like it',
      'switchyard: 503 GET /x on route www.mango.com: no healthy backend: all 2 backends are down by health checks',
    ]);
  });

  it('counts what it held back at once when flushed, and sets no timer after', () => {
    const { clock, lines, log } = logged({ linesPerCause: 1 });
    log.failed(502, mango, refused);
    log.failed(502, mango, refused);
    expect(clock.pending()).toBe(1);
    log.flush();
    expect(lines.at(-1)).toBe(`switchyard: 502 on route www.mango.com: ${refused} ... and 1 more like it`);
    expect(clock.pending()).toBe(0);
  });

  it('keeps a bounded number of causes, counting the oldest early', () => {
    const { lines, log } = logged({ linesPerCause: 1, maxCauses: 2 });
    for (const cause of ['a', 'a', 'b', 'c']) log.failed(502, mango, cause);
    expect(lines).toEqual([
      'switchyard: 502 GET /x on route www.mango.com: a',
      'switchyard: 502 GET /x on route www.mango.com: b',
      'switchyard: 502 on route www.mango.com: a ... and 1 more like it',
      'switchyard: 502 GET /x on route www.mango.com: c',
    ]);
  });

  it('cuts a long path, and puts an internal error’s stack after its line, out of the cause', () => {
    const { lines, log } = logged({ linesPerCause: 1 });
    log.failed(502, { ...mango, path: `/${'a'.repeat(5000)}` }, refused);
    expect(lines[0].length).toBeLessThan(400);
    const error = new TypeError('x is undefined');
    log.internalError(mango, error);
    log.internalError(mango, new TypeError('x is undefined'));
    expect(lines[1].split('\n')[0]).toBe('switchyard: 500 GET /x on route www.mango.com: internal error: TypeError: x is undefined');
    expect(lines[1].split('\n').slice(1).every((line) => /^\s+at /.test(line))).toBe(true);
    expect(lines).toHaveLength(2);
  });
});

describe('the 5xx the balancer answers itself, through the app', () => {
  function app(yaml: string, upstream: Upstream) {
    const clock = manualClock();
    const lines: string[] = [];
    const config = loadConfig(yaml);
    const served = createApp({ config, upstream, log: (line) => lines.push(line), now: clock.now, timers: clock.timers });
    const send = (path: string, init: RequestInit = {}) =>
      served.request(`http://lb.test${path}`, { ...init, headers: { host: 'www.mango.com', ...(init.headers as Record<string, string>) } });
    return { clock, lines, config, send };
  }
  const systemError = (code: string, message: string) => Object.assign(new Error(message), { code });
  const one = `
health_check: false
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:9081]
`;

  it('logs a 502 with the backend and the TLS error that caused it', async () => {
    const { lines, send } = app(one, async () => Promise.reject(upstreamErrorOf(systemError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'))));
    expect((await send('/x')).status).toBe(502);
    expect(lines).toEqual(['switchyard: 502 GET /x on route www.mango.com: backend http://127.0.0.1:9081: tls: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)']);
  });

  it('logs a 503 when no backend could be connected to, and a 504 when the backend was too slow', async () => {
    const refusing = app(one, async () => Promise.reject(upstreamErrorOf(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9081'))));
    expect((await refusing.send('/x')).status).toBe(503);
    expect(refusing.lines).toEqual([`switchyard: 503 GET /x on route www.mango.com: no backend could be connected to: ${refused}`]);
    const slow = app(one, async () => Promise.reject(new UpstreamError('timeout', 'no response headers within 60000 ms')));
    expect((await slow.send('/y')).status).toBe(504);
    expect(slow.lines).toEqual(['switchyard: 504 GET /y on route www.mango.com: backend http://127.0.0.1:9081: no response headers within 60000 ms']);
  });

  it('names every backend tried when retries ran out', async () => {
    const two = one.replace('[127.0.0.1:9081]', '[127.0.0.1:9081, 127.0.0.1:9082]\n    algorithm: round_robin');
    const { lines, send } = app(two, async (request) => Promise.reject(new UpstreamError('failed', `${request.origin} reset`)));
    expect((await send('/x')).status).toBe(502);
    expect(lines).toEqual(['switchyard: 502 GET /x on route www.mango.com: backend http://127.0.0.1:9082: http://127.0.0.1:9082 reset (2 backends tried)']);
  });

  it('logs a 503 when every backend is down by its health checks', async () => {
    const { lines, config, send } = app(one.replace('health_check: false\n', ''), async () => new Response(null, { status: 500 }));
    const checks = startHealthChecks(config.backends, { upstream: async () => new Response(null, { status: 500 }), log: () => {}, schedule: false });
    await checks.probeAll();
    checks.stop();
    expect((await send('/x')).status).toBe(503);
    expect(lines).toEqual(['switchyard: 503 GET /x on route www.mango.com: no healthy backend: its one backend is down by health checks']);
  });

  it('logs a burst of the same failure in a few lines, then one that counts the rest', async () => {
    const { clock, lines, send } = app(one, async () => Promise.reject(upstreamErrorOf(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9081'))));
    for (let i = 0; i < 47; i++) expect((await send(`/x/${i}`)).status).toBe(503);
    expect(lines).toHaveLength(5);
    await clock.advance(1000);
    expect(lines.slice(5)).toEqual([`switchyard: 503 on route www.mango.com: no backend could be connected to: ${refused} ... and 42 more like it`]);
  });

  it('logs a 500 from a rewrite that made no path, and nothing for what is the client’s (4xx) or a client gone', async () => {
    const rewrite = `${one}    rewrite_rules: { regex: [{ pattern: "^/x", replacement: "x" }] }\n`;
    const { lines, send } = app(rewrite, async () => new Response('ok'));
    expect((await send('/x')).status).toBe(500);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^switchyard: 500 GET \/x: internal error: PathRewriteError: rewrite_rules\.regex turned "\/x" into "x"/);

    const quiet = app(one, async () => Promise.reject(new UpstreamError('failed', 'aborted')));
    expect((await quiet.send('/x', { headers: { host: 'www.apple.com' } })).status).toBe(404);
    expect((await quiet.send('/x', { headers: { host: 'bad host' } })).status).toBe(400);
    const client = new AbortController();
    client.abort();
    expect((await quiet.send('/x', { signal: client.signal })).status).toBe(502);
    expect(quiet.lines).toEqual([]);
  });
});
