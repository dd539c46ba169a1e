import { describe, expect, it } from 'vitest';
import { fetchWebSocket, isWebSocketUpgrade } from '../../src/core/proxy/webSocket.ts';
import type { UpstreamRequest } from '../../src/core/Upstream.ts';

const upgrade = (headers: Record<string, string>, method = 'GET') => new Request('http://lb.test/ws', { method, headers });

describe('isWebSocketUpgrade', () => {
  it('accepts the handshake in any case and among other tokens', () => {
    expect(isWebSocketUpgrade(upgrade({ connection: 'keep-alive, Upgrade', upgrade: 'WebSocket' }))).toBe(true);
  });

  it.each([
    ['another protocol', { connection: 'upgrade', upgrade: 'h2c' }, 'GET'],
    ['no Connection: upgrade', { upgrade: 'websocket' }, 'GET'],
    ['a POST', { connection: 'upgrade', upgrade: 'websocket' }, 'POST'],
  ])('refuses %s', (_, headers, method) => expect(isWebSocketUpgrade(upgrade(headers, method))).toBe(false));
});

describe('fetchWebSocket', () => {
  const request: UpstreamRequest = {
    origin: 'http://backend.test:8080',
    target: '/ws?room=1',
    method: 'GET',
    headers: new Headers({ upgrade: 'websocket', connection: 'upgrade' }),
    body: null,
    signal: new AbortController().signal,
    timeouts: { connect: 20, responseHeaders: 30, bodyIdle: 1000 },
  };

  it("returns a declined handshake as the backend's answer, without following redirects", async () => {
    const answer = new Response('no', { status: 200 });
    let init: RequestInit | undefined;
    let called: unknown;
    const response = await fetchWebSocket(async (url, i) => ((called = url), (init = i), answer))(request);
    expect(called).toBe('http://backend.test:8080/ws?room=1');
    expect(response.status).toBe(200);
    expect(response.tunnel).toBeUndefined();
    expect(init?.redirect).toBe('manual');
    expect(new Headers(init?.headers).get('upgrade')).toBe('websocket');
  });

  it('hands a 101 over with the fetch response as its tunnel', async () => {
    // Node cannot construct a 101 Response; workerd's fetch returns one with `webSocket` attached.
    const switched = { status: 101, headers: new Headers({ 'sec-websocket-accept': 'x' }), body: null } as unknown as Response;
    const response = await fetchWebSocket(async () => switched)(request);
    expect(response.status).toBe(101);
    expect(response.tunnel).toBe(switched);
    expect(response.headers.get('sec-websocket-accept')).toBe('x');
  });

  it('rejects as a failure (502) when the fetch fails', async () => {
    const failing = fetchWebSocket(async () => Promise.reject(new TypeError('Network connection lost.')))(request);
    await expect(failing).rejects.toMatchObject({ name: 'UpstreamError', failure: 'failed' });
  });

  it('rejects as a timeout (504) when no answer comes within connect + response headers', async () => {
    const never = (_: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    await expect(fetchWebSocket(never)(request)).rejects.toMatchObject({ name: 'UpstreamError', failure: 'timeout' });
  });
});
