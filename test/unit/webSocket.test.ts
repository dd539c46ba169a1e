import { describe, expect, it } from 'vitest';
import { fetchWebSocket, isWebSocketUpgrade } from '../../src/core/proxy/webSocket.ts';
import type { UpstreamRequest } from '../../src/core/proxy/Upstream.ts';

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

  it("returns the backend's answer as it is, without following redirects", async () => {
    const answer = new Response(null, { status: 200 });
    let init: RequestInit | undefined;
    let called: unknown;
    const response = await fetchWebSocket(async (url, i) => ((called = url), (init = i), answer))(request, undefined as never);
    expect(called).toBe('http://backend.test:8080/ws?room=1');
    expect(response).toBe(answer);
    expect(init?.redirect).toBe('manual');
    expect(new Headers(init?.headers).get('upgrade')).toBe('websocket');
  });

  it('answers 502 when the fetch fails', async () => {
    const response = await fetchWebSocket(async () => Promise.reject(new TypeError('Network connection lost.')))(request, undefined as never);
    expect(response.status).toBe(502);
  });

  it('answers 504 when no answer comes within connect + response headers', async () => {
    const never = (_: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const response = await fetchWebSocket(never)(request, undefined as never);
    expect(response.status).toBe(504);
  });
});
