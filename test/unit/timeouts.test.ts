import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { forwardWeb } from '../helpers/forwardWeb.ts';
import { DEFAULT_TIMEOUTS, type Timeouts, type Upstream } from '../../src/core/Upstream.ts';
import { UpstreamError } from '../../src/core/UpstreamError.ts';

const CONFIG = `
timeouts: { connect: 2s, body_idle: 30s }
algorithm: round_robin
health_check: false
hosts:
  - host: slow.test
    timeouts: { response_headers: 5m }
    servers: [localhost:8081, localhost:8082]
paths:
  - path: /
    servers: [localhost:8081, localhost:8082]
`;

function send(route: ReturnType<ReturnType<typeof loadConfig>['routes']['match']> & object, upstream: Upstream, method = 'GET') {
  return forwardWeb(route, { method, path: '/', query: '', headers: new Headers(), body: null }, {
    upstream,
    signal: new AbortController().signal,
    pick: { clientAddress: undefined, headers: new Headers() },
  });
}

describe('timeouts', () => {
  it('defaults to 5 s connect, 60 s response headers, 60 s body idle', () => {
    const config = loadConfig('paths: [{ path: /, servers: [localhost:8081] }]');
    expect(config.routes.match(undefined, '/')!.timeouts).toEqual(DEFAULT_TIMEOUTS);
    expect(DEFAULT_TIMEOUTS).toEqual({ connect: 5_000, responseHeaders: 60_000, bodyIdle: 60_000 });
  });

  it('takes a route’s timeouts over the top level’s, key by key, and hands them to the upstream client', async () => {
    const config = loadConfig(CONFIG);
    const seen: Timeouts[] = [];
    const upstream: Upstream = async (request) => (seen.push(request.timeouts), new Response('ok'));
    await send(config.routes.match('slow.test', '/')!, upstream);
    await send(config.routes.match(undefined, '/')!, upstream);
    expect(seen).toEqual([
      { connect: 2_000, responseHeaders: 300_000, bodyIdle: 30_000 },
      { connect: 2_000, responseHeaders: 60_000, bodyIdle: 30_000 },
    ]);
  });

  it('answers 504 when the backends time out, retrying an idempotent request on another backend first', async () => {
    const config = loadConfig(CONFIG);
    const route = config.routes.match(undefined, '/')!;
    const origins: string[] = [];
    const upstream: Upstream = async (request) => {
      origins.push(request.origin);
      throw new UpstreamError('timeout', 'no response headers within 62000 ms');
    };
    const get = await send(route, upstream);
    expect(get.status).toBe(504);
    expect(await get.text()).toBe('Gateway Timeout\n');
    expect(new Set(origins).size).toBe(2);
    origins.length = 0;
    expect((await send(route, upstream, 'POST')).status).toBe(504);
    expect(origins).toHaveLength(1);
  });
});
