import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveProcess, type ServeProcess, type ServeRuntime } from '../helpers/serveProcess.ts';
import { waitFor } from '../helpers/waitFor.ts';

// HTTP/2 from clients (issue 14 point 3): a TLS listener offers h2 and http/1.1 by ALPN, one with
// `http2: false` HTTP/1.1 alone, and a plain one with `http2: h2c` cleartext HTTP/2; everything the
// HTTP/1.1 path does holds on h2. Real clients: curl and node:http2, on Node and Deno.

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'switchyard-h2-'));

interface Seen {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  /** The Cookie fields as they came, one entry per field line. */
  readonly cookieFields: string[];
  readonly bodySha: string;
  readonly bodyLength: number;
}

const seen: Seen[] = [];
const closedEarly: string[] = [];
let backend: Server;
let backendPort: number;

beforeAll(async () => {
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=a.test', '-addext', 'subjectAltName=DNS:a.test', '-keyout', join(dir, 'a.key'), '-out', join(dir, 'a.crt')]);
  backend = createServer((request, response) => {
    const hash = createHash('sha256');
    let length = 0;
    if (request.url?.startsWith('/slow')) {
      // Holds the response until the client goes away: the test resets its stream.
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first\n');
      response.on('close', () => closedEarly.push(request.url!));
      return;
    }
    if (request.url?.startsWith('/drip')) {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('one\n');
      setTimeout(() => response.end('two\n'), 400);
      return;
    }
    request.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    request.on('end', () => {
      const cookieFields = request.rawHeaders.filter((_, i) => i % 2 === 1 && request.rawHeaders[i - 1].toLowerCase() === 'cookie');
      seen.push({ url: request.url ?? '', headers: request.headers, cookieFields, bodySha: hash.digest('hex'), bodyLength: length });
      response.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      response.setHeader('connection', 'keep-alive');
      response.setHeader('keep-alive', 'timeout=5');
      response.end(`ok ${request.url}`);
    });
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  backendPort = (backend.address() as AddressInfo).port;
  writeFileSync(
    join(dir, 'lb.yaml'),
    `listen:
  - address: 127.0.0.1:0
    tls:
      certificates: [{ cert: a.crt, key: a.key }]
  - address: 127.0.0.1:0
    tls:
      certificates: [{ cert: a.crt, key: a.key }]
    http2: false
  - address: 127.0.0.1:0
    http2: h2c
hosts:
  - host: a.test
    servers: [127.0.0.1:${backendPort}]
    health_check: false
    firewall_rules:
      path_reject: [/secret]
  - host: retry.test
    servers: ['127.0.0.1:1', 127.0.0.1:${backendPort}]
    algorithm: round_robin
    health_check: false
`,
  );
}, 30_000);

afterAll(async () => {
  await new Promise((resolve) => backend?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

interface Served {
  readonly h2: string;
  readonly http1Only: string;
  readonly h2c: string;
  readonly balancer: ServeProcess;
}

/** Starts `serve` on a runtime with the config's three listeners, and resolves once all are listening. */
async function serve(runtime: ServeRuntime): Promise<Served> {
  const balancer = await serveProcess(runtime, { file: join(dir, 'lb.yaml') }, { loopback: false, listeners: 3 });
  const [h2, http1Only, h2c] = balancer.urls;
  return { h2, http1Only, h2c, balancer };
}

interface Answer {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function h2Request(session: ClientHttp2Session, headers: Record<string, string | string[]>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let text = '';
    let answered: IncomingHttpHeaders = {};
    stream.on('response', (fields) => (answered = fields));
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ headers: answered, body: text }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

describe.each(['node', 'deno'] as const)('HTTP/2 clients on %s', (runtime) => {
  let served: Served;
  let tls: ClientHttp2Session;

  beforeAll(async () => {
    served = await serve(runtime);
    tls = connect(served.h2, { ca: readFileSync(join(dir, 'a.crt')), servername: 'a.test' });
  }, 40_000);

  afterAll(async () => {
    tls?.close();
    await served?.balancer.stop();
  });

  const curl = async (url: string, ...flags: string[]) => {
    const port = new URL(url).port;
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', '--cacert', join(dir, 'a.crt'), '--resolve', `a.test:${port}:127.0.0.1`, ...flags, `https://a.test:${port}/curl`]);
    return stdout;
  };

  it('prints a listening line per listener, https and http, in the order written', () => {
    expect(served.h2).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(served.http1Only).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(served.h2c).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('offers h2 and http/1.1 by ALPN on a TLS listener, and HTTP/1.1 alone with http2: false', async () => {
    expect(await curl(served.h2, '--http2')).toBe('2 200');
    expect(await curl(served.h2, '--http1.1')).toBe('1.1 200');
    expect(await curl(served.http1Only, '--http2')).toBe('1.1 200');
  });

  it('routes by :authority and forwards no pseudo-header; the backend hears https', async () => {
    const answer = await h2Request(tls, { ':method': 'GET', ':path': '/route?x=1', ':authority': 'a.test' });
    expect(answer.headers[':status']).toBe(200);
    expect(answer.body).toBe('ok /route?x=1');
    const request = seen.find((each) => each.url === '/route?x=1')!;
    expect(request.headers.host).toBe('a.test');
    expect(request.headers['x-forwarded-proto']).toBe('https');
    expect(Object.keys(request.headers).filter((name) => name.startsWith(':'))).toEqual([]);
    const unknown = await h2Request(tls, { ':method': 'GET', ':path': '/', ':authority': 'nowhere.test' });
    expect(unknown.headers[':status']).toBe(404);
  });

  it('firewalls the normalised path', async () => {
    const answer = await h2Request(tls, { ':method': 'GET', ':path': '/open/%2e%2e/secret/x', ':authority': 'a.test' });
    expect(answer.headers[':status']).toBe(403);
    expect(seen.some((each) => each.url.includes('secret'))).toBe(false);
  });

  it('keeps Set-Cookie fields apart and drops the connection-specific fields', async () => {
    const answer = await h2Request(tls, { ':method': 'GET', ':path': '/cookies', ':authority': 'a.test' });
    expect(answer.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(answer.headers.connection).toBeUndefined();
    expect(answer.headers['keep-alive']).toBeUndefined();
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("joins an h2 request's cookie fields into one Cookie, with '; ', for the HTTP/1.1 backend", async () => {
    const answer = await h2Request(tls, { ':method': 'GET', ':path': '/cookie-fields', ':authority': 'a.test', cookie: ['a=1', 'b=2'] });
    expect(answer.headers[':status']).toBe(200);
    expect(seen.find((each) => each.url === '/cookie-fields')!.cookieFields).toEqual(['a=1; b=2']);
  });

  it('streams a request body up whole and a response down as it comes', async () => {
    const body = Buffer.alloc(1024 * 1024 + 7, 'x');
    const answer = await h2Request(tls, { ':method': 'POST', ':path': '/upload', ':authority': 'a.test' }, body);
    expect(answer.headers[':status']).toBe(200);
    const upload = seen.find((each) => each.url === '/upload')!;
    expect(upload.bodyLength).toBe(body.length);
    expect(upload.bodySha).toBe(createHash('sha256').update(body).digest('hex'));

    const chunks: { text: string; at: number }[] = [];
    const start = Date.now();
    await new Promise<void>((resolve, reject) => {
      const stream = tls.request({ ':method': 'GET', ':path': '/drip', ':authority': 'a.test' });
      stream.setEncoding('utf8').on('data', (text: string) => chunks.push({ text, at: Date.now() - start }));
      stream.on('end', resolve).on('error', reject);
    });
    expect(chunks.map((chunk) => chunk.text).join('')).toBe('one\ntwo\n');
    // The first part arrived before the backend wrote the second, 400 ms later.
    expect(chunks[0].text).toBe('one\n');
    expect(chunks.at(-1)!.at - chunks[0].at).toBeGreaterThan(200);
  });

  it("cancels the backend's request when the client resets its stream", async () => {
    const path = `/slow/${runtime}`;
    await new Promise<void>((resolve, reject) => {
      const stream = tls.request({ ':method': 'GET', ':path': path, ':authority': 'a.test' });
      stream.once('data', () => {
        stream.close(constants.NGHTTP2_CANCEL);
        resolve();
      });
      stream.on('error', reject);
    });
    await waitFor(() => closedEarly.includes(path), 5_000, 'the backend to see its request cancelled');
  });

  it('retries a failed attempt on another backend', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map((i) => h2Request(tls, { ':method': 'GET', ':path': `/retry/${i}`, ':authority': 'retry.test' })));
    expect(answers.map((answer) => answer.headers[':status'])).toEqual([200, 200, 200, 200]);
  });

  it('speaks cleartext HTTP/2 with prior knowledge on an h2c listener', async () => {
    const session = connect(served.h2c);
    try {
      const answer = await h2Request(session, { ':method': 'GET', ':path': '/cleartext', ':authority': 'a.test' });
      expect(answer.headers[':status']).toBe(200);
      expect(seen.find((each) => each.url === '/cleartext')!.headers['x-forwarded-proto']).toBe('http');
    } finally {
      session.close();
    }
  });

  it('logs h2 requests like any other', () => {
    const line = served.balancer
      .stdout()
      .split('\n')
      .find((text) => text.includes('"path":"/route"'));
    expect(JSON.parse(line!)).toMatchObject({ method: 'GET', host: 'a.test', status: 200, route: 'a.test', attempts: 1 });
  });
});
