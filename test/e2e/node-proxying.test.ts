import { request as httpRequest } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';

// Faithful proxying on Node, over real loopback HTTP: `switchyard serve` from the build in front
// of real node:http backends.

let backend: TestBackend;
let balancer: RunningBalancer;

beforeAll(async () => {
  backend = await startTestBackend('one');
  balancer = await startBalancer(`
paths:
  - path: /
    servers: [${backend.address}]
    timeouts: { response_headers: 500ms, body_idle: 500ms }
`);
});

afterAll(async () => {
  await balancer?.stop();
  await backend?.close();
});

const echoed = async (response: Response) => (await response.json()) as EchoedRequest;

describe('forwarding every method with bodies streamed both ways', () => {
  it.each(['GET', 'DELETE', 'OPTIONS', 'PATCH', 'PUT', 'POST'])('forwards %s with its method and path', async (method) => {
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const response = await fetch(`${balancer.url}/things/1`, { method, body: hasBody ? 'payload' : undefined });
    const seen = await echoed(response);
    expect(seen).toMatchObject({ method, url: '/things/1', bodyBytes: hasBody ? 7 : 0 });
  });

  it('streams a 20 MB upload to the backend intact', async () => {
    const size = 20 * 1024 * 1024;
    let sent = 0;
    let checksum = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        const chunk = new Uint8Array(64 * 1024).map((_, i) => (sent + i) % 251);
        for (const byte of chunk) checksum = (checksum + byte) >>> 0;
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${balancer.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(await response.json()).toEqual({ bytes: size, checksum });
  });

  it('streams a 50 MB response to the client intact', async () => {
    const response = await fetch(`${balancer.url}/bytes/${50 * 1024 * 1024}`);
    expect(response.headers.get('content-length')).toBe(String(50 * 1024 * 1024));
    let total = 0;
    const reader = response.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) total += read.value.length;
    expect(total).toBe(50 * 1024 * 1024);
  });
});

describe('what reaches the backend', () => {
  it('forwards the raw query string byte for byte', async () => {
    const query = "?b=2&a=1&a=%2f&sp=%20+x&q='quoted'&empty=&flag&u=%C3%A9";
    const seen = await echoed(await rawGet(`/search${query}`));
    expect(seen.url).toBe(`/search${query}`);
  });

  it("keeps the client's Host header by default", async () => {
    const seen = await echoed(await rawGet('/host', { host: 'www.apple.com' }));
    expect(seen.headers.host).toBe('www.apple.com');
  });

  it('adds X-Forwarded-For, -Proto and -Host, appending to an existing chain', async () => {
    const seen = await echoed(await rawGet('/xff', { host: 'shop.example', 'x-forwarded-for': '203.0.113.7' }));
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('shop.example');
  });

  it('removes hop-by-hop request headers, including those named in Connection', async () => {
    const response = await rawRequest(
      'GET /hop-request HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n',
    );
    const seen = JSON.parse(response.body) as EchoedRequest;
    expect(seen.headers['x-kept']).toBe('yes');
    for (const name of ['x-private', 'keep-alive', 'proxy-connection', 'te']) expect(seen.headers[name]).toBeUndefined();
  });
});

describe('expectations', () => {
  it('forwards an upload sent with Expect: 100-continue, as curl sends large ones', async () => {
    const { hostname, port } = new URL(balancer.url);
    const reply = await new Promise<{ status: number; body: string; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest({ hostname, port, path: '/upload', method: 'PUT', headers: { expect: '100-continue', 'content-length': 3 } });
      req.on('continue', () => ((continued = true), req.end('abc')));
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, continued }));
      });
      req.on('error', reject);
    });
    expect(reply.continued).toBe(true);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).bytes).toBe(3);
  });
});

describe('what reaches the client', () => {
  it('passes redirects through instead of following them', async () => {
    const response = await fetch(`${balancer.url}/redirect`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/elsewhere');
  });

  it('passes compressed bodies through still compressed, with their Content-Encoding', async () => {
    const response = await rawRequest('GET /gzip HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n', true);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(response.rawBody).toString()).toBe('hello gzip '.repeat(100));
  });

  it('keeps every Set-Cookie apart', async () => {
    const response = await fetch(`${balancer.url}/cookies`);
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'c=3; HttpOnly']);
  });

  it.each([
    ['HEAD', '/bytes/1000', 200],
    ['GET', '/status/204', 204],
    ['GET', '/status/304', 304],
  ])('answers %s %s without a body', async (method, path, status) => {
    const response = await rawRequest(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(response.status).toBe(status);
    expect(response.body).toBe('');
  });

  it('keeps Content-Length on HEAD', async () => {
    const response = await fetch(`${balancer.url}/bytes/1000`, { method: 'HEAD' });
    expect(response.headers.get('content-length')).toBe('1000');
  });

  it('removes hop-by-hop response headers, including those named in Connection', async () => {
    const response = await fetch(`${balancer.url}/hop`);
    expect(response.headers.get('x-end-to-end')).toBe('kept');
    expect(response.headers.get('x-secret')).toBeNull();
    expect(response.headers.get('proxy-connection')).toBeNull();
  });
});

describe('failures', () => {
  it('answers 504 when the backend sends no headers in time', async () => {
    const response = await fetch(`${balancer.url}/slow/3000`);
    expect(response.status).toBe(504);
    expect(await response.text()).toBe('Gateway Timeout\n');
  });

  it('cuts the response off when the backend dies mid-body, and keeps serving', async () => {
    const response = await rawRequest('GET /die-mid-body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', true);
    expect(response.headers['content-length']).toBe('1000000');
    expect(response.rawBody.length).toBeLessThan(1_000_000);
    expect((await fetch(`${balancer.url}/after`)).status).toBe(200);
  });

  it('cuts the response off when the body stalls past body_idle', async () => {
    const response = await rawRequest('GET /stall-body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', true);
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
  });

  it('cancels the upstream request when the client goes away', async () => {
    // Shorter than the route's 500 ms response_headers limit, so only a cancellation closes it early.
    const path = `/slow/400?cancel=${Date.now()}`;
    const answeredBeforeClose = new Promise<boolean>((resolve) => {
      const onRequest = (req: { url?: string }, res: { writableEnded: boolean; once: (e: string, f: () => void) => void }) => {
        if (req.url !== path) return;
        backend.server.off('request', onRequest);
        res.once('close', () => resolve(res.writableEnded));
      };
      backend.server.on('request', onRequest);
    });
    const controller = new AbortController();
    const pending = fetch(`${balancer.url}${path}`, { signal: controller.signal }).catch(() => undefined);
    setTimeout(() => controller.abort(), 100);
    await pending;
    // The backend's connection closed while it was still waiting to answer: the balancer hung up.
    expect(await answeredBeforeClose).toBe(false);
  });

  it('answers 502 to a status HTTP does not have (999) and keeps serving', async () => {
    const odd = createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 999 Weird\r\ncontent-length: 2\r\n\r\nok')));
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    const port = (odd.address() as AddressInfo).port;
    const broken = await startBalancer(`paths:\n  - path: /odd\n    servers: [127.0.0.1:${port}]\n    health_check: false\n  - path: /\n    servers: [${backend.address}]\n`);
    try {
      expect((await fetch(`${broken.url}/odd`)).status).toBe(502);
      // The balancer is still there: the discarded body once crashed it with an unhandled error.
      expect((await fetch(`${broken.url}/`)).status).toBe(200);
    } finally {
      await broken.stop();
      odd.close();
    }
  });

  it('answers 502 when the backend answers with something that is not HTTP', async () => {
    const garbage = createServer((socket) => socket.once('data', () => socket.end('SSH-2.0-not-http\r\n\r\n')));
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    const port = (garbage.address() as AddressInfo).port;
    const broken = await startBalancer(`paths:\n  - path: /\n    servers: [127.0.0.1:${port}]\n    health_check: false\n`);
    try {
      const response = await fetch(`${broken.url}/`);
      expect(response.status).toBe(502);
      expect(await response.text()).toBe('Bad Gateway\n');
    } finally {
      await broken.stop();
      garbage.close();
    }
  });
});

/** GET through node:http, which sends the path and the Host header exactly as given (fetch drops Host). */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(balancer.url);
    // Options, not a URL string: a URL string would be parsed and re-encoded first.
    const req = httpRequest({ hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode })));
    });
    req.on('error', reject);
    req.end();
  });
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  rawBody: Buffer;
  /** Whether the body ended where its framing said it would. */
  complete: boolean;
}

/** Sends bytes over a TCP socket and reads until the server closes, so nothing normalises either side. */
function rawRequest(text: string, closeDelimited = false): Promise<RawResponse> {
  const { port } = new URL(balancer.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    // The balancer must close the connection itself; running into this limit fails the test.
    const timer = setTimeout(() => (socket.destroy(), reject(new Error('the balancer kept the connection open for 5 s'))), 5_000);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const parsed = parseResponse(Buffer.concat(chunks));
      if (!closeDelimited && parsed?.complete) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      const parsed = parseResponse(Buffer.concat(chunks));
      parsed ? resolve(parsed) : reject(new Error(`no response: ${Buffer.concat(chunks).toString()}`));
    });
    socket.write(text);
  });
}

function parseResponse(data: Buffer): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rawBody = data.subarray(end + 4);
  let complete: boolean;
  if (headers['transfer-encoding'] === 'chunked') {
    const decoded = decodeChunked(rawBody);
    rawBody = decoded.body;
    complete = decoded.complete;
  } else {
    const length = Number(headers['content-length'] ?? 0);
    complete = rawBody.length >= length;
  }
  const status = Number(statusLine.split(' ')[1]);
  return { status, headers, rawBody, body: rawBody.toString(), complete };
}

function decodeChunked(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false };
    const size = parseInt(data.subarray(offset, lineEnd).toString(), 16);
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    if (data.length < lineEnd + 2 + size) return { body: Buffer.concat([...parts, data.subarray(lineEnd + 2)]), complete: false };
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}
