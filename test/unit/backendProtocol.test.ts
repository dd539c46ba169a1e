import { once } from 'node:events';
import { createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { DEFAULT_TIMEOUTS, type UpstreamRequest } from '../../src/core/Upstream.ts';
import { UpstreamError } from '../../src/core/UpstreamError.ts';
import { undiciUpstream } from '../../src/upstream/undiciUpstream.ts';
import { errorsOf } from '../helpers/configErrors.ts';
import { deadPort } from '../helpers/deadPort.ts';

describe('protocol in the config', () => {
  const backendsOf = (yaml: string) => loadConfig(yaml, '/etc/switchyard/lb.yaml').backends;

  it('speaks HTTP/1.1 unless told otherwise, a route laid over the top level', () => {
    const [plain, h2c, http2] = backendsOf(
      'protocol: h2c\nhosts:\n  - host: a.test\n    servers: [a.internal:80]\n    protocol: http1\n  - host: b.test\n    servers: [b.internal:50051]\n  - host: c.test\n    servers: [https://c.internal]\n    protocol: http2\n',
    );
    expect([plain.protocol, h2c.protocol, http2.protocol]).toEqual(['http1', 'h2c', 'http2']);
    expect(backendsOf('paths:\n  - path: /\n    servers: [a.internal:80]\n')[0].protocol).toBe('http1');
  });

  it('refuses http2 to a plain http:// server and h2c to an https:// one, at the server', () => {
    expect(errorsOf('paths:\n  - path: /\n    servers: [a.internal:80]\n    protocol: http2\n')).toEqual([
      'lb.yaml:3:15: paths[0].servers[0]: "a.internal:80" is plain http, and protocol is http2 (HTTP/2 over TLS, from paths[0].protocol): write it as https://HOST:PORT, or use protocol: h2c for cleartext HTTP/2',
    ]);
    expect(errorsOf('protocol: h2c\npaths:\n  - path: /\n    servers: [a.internal:80, https://b.internal]\n')).toEqual([
      'lb.yaml:4:30: paths[0].servers[1]: "https://b.internal" is https, and protocol is h2c (cleartext HTTP/2, from protocol): write it as http://HOST:PORT, or use protocol: http2 for HTTP/2 over TLS',
    ]);
  });

  it('refuses two routes that give one backend different protocols, naming both', () => {
    expect(errorsOf('hosts:\n  - host: a.test\n    servers: [a.internal:50051]\n    protocol: h2c\npaths:\n  - path: /\n    servers: [a.internal:50051]\n')).toEqual([
      'lb.yaml:7:15: paths[0].servers[0]: "a.internal:50051" is also a server of hosts[0], with protocol h2c, and here http1; a backend\'s connections are set up once for all its routes, so give both routes the same protocol',
    ]);
  });

  it('refuses a protocol it does not speak, listing those it does', () => {
    expect(errorsOf('paths:\n  - path: /\n    servers: [a.internal:80]\n    protocol: http3\n')).toEqual([
      'lb.yaml:4:15: paths[0].protocol: "http3" is not a protocol; expected http1, http2 (HTTP/2 over TLS, to https:// servers) or h2c (cleartext HTTP/2, to http:// servers)',
    ]);
  });
});

describe('the HTTP/2 upstream client', () => {
  let server: Http2Server | undefined;
  const client = undiciUpstream();

  afterEach(async () => {
    server?.close();
    server = undefined;
    await client.close();
  });

  async function backend(onStream: (stream: ServerHttp2Stream) => void): Promise<string> {
    // A stream closed with an error code emits it on the server's side too.
    server = createServer().on('stream', (stream: ServerHttp2Stream) => onStream(stream.on('error', () => {})));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const request = (origin: string, timeouts = DEFAULT_TIMEOUTS, signal = new AbortController().signal): UpstreamRequest => ({
    origin,
    target: '/x',
    method: 'GET',
    headers: new Headers({ host: 'app.test' }),
    body: null,
    signal,
    timeouts,
    protocol: 'h2c',
  });

  const failureOf = (promise: Promise<unknown>) => promise.then(
    () => undefined,
    (error: unknown) => (error instanceof UpstreamError ? error.failure : error),
  );

  it('is a connect failure when nothing listens', async () => {
    expect(await failureOf(client(request(`http://127.0.0.1:${await deadPort()}`)))).toBe('connect');
  });

  it('is a connect failure, safe to retry, when the backend refuses the stream', async () => {
    const origin = await backend((stream) => stream.close(7)); // REFUSED_STREAM
    expect(await failureOf(client(request(origin)))).toBe('connect');
  });

  it('is a timeout when no response headers come in time, and a failure when the stream is reset', async () => {
    const origin = await backend((stream) => {
      if (stream.id === 1) return; // never answered
      stream.close(2); // INTERNAL_ERROR
    });
    expect(await failureOf(client(request(origin, { ...DEFAULT_TIMEOUTS, responseHeaders: 100 })))).toBe('timeout');
    expect(await failureOf(client(request(origin)))).toBe('failed');
  });

  it('resets the stream with CANCEL when the client goes away', async () => {
    let code: number | undefined;
    const closed = new Promise<void>((resolve) => {
      void backend((stream) => stream.once('close', () => ((code = stream.rstCode), resolve()))).then((origin) => {
        const controller = new AbortController();
        void client(request(origin, DEFAULT_TIMEOUTS, controller.signal)).catch(() => {});
        setTimeout(() => controller.abort(), 50);
      });
    });
    await closed;
    expect(code).toBe(8);
  });
});
