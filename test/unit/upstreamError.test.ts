import { describe, expect, it } from 'vitest';
import { fetchUpstream } from '../../src/core/proxy/fetchUpstream.ts';
import { fetchWebSocket } from '../../src/core/proxy/webSocket.ts';
import type { UpstreamRequest } from '../../src/core/Upstream.ts';
import { describeError, UpstreamError, upstreamErrorOf } from '../../src/core/UpstreamError.ts';
import { classifyUpstreamError } from '../../src/upstream/upstreamErrors.ts';

/** An error as Node and undici make them: a code, and a message that may repeat it. */
function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Node's fetch wraps the socket's error: `TypeError: fetch failed`, the system error as its cause. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });

const request: UpstreamRequest = {
  origin: 'http://127.0.0.1:9081',
  target: '/x',
  method: 'GET',
  headers: new Headers(),
  body: null,
  signal: new AbortController().signal,
  timeouts: { connect: 1000, responseHeaders: 1000, bodyIdle: 1000 },
};

describe('one vocabulary for upstream failures', () => {
  const connectCodes = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'];

  it('calls a connection that could not be opened a connect failure, on every upstream client alike', async () => {
    for (const code of connectCodes) {
      const error = systemError(code, `connect ${code} 127.0.0.1:9081`);
      expect(upstreamErrorOf(error).failure, code).toBe('connect');
      // undici (Node and Deno), fetch (Workers, and any runtime's fetch), WebSocket upgrades on fetch (workerd).
      expect(classifyUpstreamError(error).failure, `undici ${code}`).toBe('connect');
      const viaFetch = await fetchUpstream(async () => Promise.reject(fetchFailed(error)))(request).catch((e: unknown) => e);
      expect(viaFetch, `fetch ${code}`).toMatchObject({ name: 'UpstreamError', failure: 'connect' });
      const viaWebSocket = await fetchWebSocket(async () => Promise.reject(fetchFailed(error)))(request).catch((e: unknown) => e);
      expect(viaWebSocket, `fetchWebSocket ${code}`).toMatchObject({ name: 'UpstreamError', failure: 'connect' });
    }
  });

  it('reads the words of a fetch that gives no code (Deno)', () => {
    expect(upstreamErrorOf(new TypeError('error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)')).failure).toBe('connect');
    expect(upstreamErrorOf(new TypeError('error sending request: dns error: failed to lookup address information')).failure).toBe('connect');
  });

  it('calls anything else a failure: a reset, a refused TLS handshake, a thrown text', () => {
    expect(upstreamErrorOf(systemError('ECONNRESET', 'read ECONNRESET')).failure).toBe('failed');
    expect(upstreamErrorOf(systemError('UND_ERR_SOCKET', 'other side closed')).failure).toBe('failed');
    expect(upstreamErrorOf(systemError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate')).failure).toBe('failed');
    expect(upstreamErrorOf('boom')).toMatchObject({ failure: 'failed', message: 'boom' });
  });

  it('returns an UpstreamError as it is', () => {
    const timeout = new UpstreamError('timeout', 'no response headers within 5 ms');
    expect(upstreamErrorOf(timeout)).toBe(timeout);
    expect(classifyUpstreamError(timeout)).toBe(timeout);
  });

  it('describes an error and its causes on one line, each said once, TLS marked as such', () => {
    expect(describeError(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9081'))).toBe('connect ECONNREFUSED 127.0.0.1:9081');
    expect(describeError(fetchFailed(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9081')))).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:9081');
    expect(describeError(systemError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'))).toBe('tls: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(describeError(systemError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames\nmore"))).toBe(
      "tls: Hostname/IP does not match certificate's altnames (ERR_TLS_CERT_ALTNAME_INVALID)",
    );
    expect(describeError(systemError('UND_ERR_SOCKET', 'other side closed'))).toBe('other side closed');
    expect(upstreamErrorOf(fetchFailed(systemError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN backend.internal'))).message).toBe('fetch failed: getaddrinfo EAI_AGAIN backend.internal');
  });
});
