import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect as connectHttp2, type IncomingHttpHeaders } from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveProcess, type ServeProcess, type ServeRuntime } from '../helpers/serveProcess.ts';
import { within } from '../helpers/waitFor.ts';

// max_request_body on a body of unknown length whose very first chunk is over the limit: counted
// and cut off before the upstream client has taken the body (still connecting, or never, the
// backend being down). A balancer that left the cut-off body's error unheard crashed on it. Over
// HTTP/1.1 (chunked) and HTTP/2 (no Content-Length), to a live backend and to a dead one, on Node
// and Deno: always 413 with Connection: close, and the balancer serves the next request.

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'switchyard-body-limit-'));
const LIMIT = 1024;
const FIRST_CHUNK = Buffer.alloc(2048, 97);
let backend: Server;

beforeAll(async () => {
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=a.test', '-addext', 'subjectAltName=DNS:live.test,DNS:dead.test', '-keyout', join(dir, 'a.key'), '-out', join(dir, 'a.crt')]);
  backend = createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => void (bytes += chunk.length));
    request.on('end', () => response.end(`got ${bytes}`));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  writeFileSync(
    join(dir, 'lb.yaml'),
    `max_request_body: ${LIMIT}
health_check: false
listen:
  - address: 127.0.0.1:0
  - address: 127.0.0.1:0
    tls:
      certificates: [{ cert: a.crt, key: a.key }]
hosts:
  - host: live.test
    servers: [127.0.0.1:${(backend.address() as AddressInfo).port}]
  - host: dead.test
    servers: [127.0.0.1:1]
`,
  );
}, 30_000);

afterAll(async () => {
  await new Promise((resolve) => backend?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** The status line and header block of the answer to one raw HTTP/1.1 request whose body is one chunk, left unfinished. */
function chunkedOverLimit(url: string, host: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) (socket.destroy(), resolve(text.slice(0, end)));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed with no answer: ${JSON.stringify(text)}`)));
    socket.write(`POST /upload HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n${FIRST_CHUNK.length.toString(16)}\r\n${FIRST_CHUNK.toString('latin1')}\r\n`);
  });
}

/** The answer's fields to an HTTP/2 POST without Content-Length whose first DATA frame is over the limit, the stream left open. */
function http2OverLimit(url: string, host: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(url, { ca: readFileSync(join(dir, 'a.crt')), servername: host });
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': '/upload', ':authority': host });
    stream.on('response', (headers) => (session.destroy(), resolve(headers)));
    stream.on('error', reject);
    stream.write(FIRST_CHUNK);
  });
}

/** A GET on a new connection (fetch would not send the Host field asked for). */
function get(url: string, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    request(`${url}/next`, { headers: { host }, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    })
      .on('error', reject)
      .end();
  });
}

describe.each(['node', 'deno'] as ServeRuntime[])('max_request_body past the first chunk on %s', (runtime) => {
  let served: ServeProcess;
  let plain: string;
  let tls: string;

  beforeAll(async () => {
    served = await serveProcess(runtime, { file: join(dir, 'lb.yaml') }, { loopback: false, listeners: 2 });
    [plain, tls] = served.urls;
  }, 40_000);

  afterAll(async () => {
    await served?.stop();
  });

  describe.each(['live.test', 'dead.test'])('to %s', (host) => {
    it('answers 413 with Connection: close over HTTP/1.1, and serves the next request', async () => {
      const head = await within(chunkedOverLimit(plain, host), 'the answer to the chunked upload', 10_000);
      expect(head).toMatch(/^HTTP\/1\.1 413 /);
      expect(head).toMatch(/\r\nconnection: close\r\n/i);
      expect(served.running(), served.stderr()).toBe(true);
      expect(await get(plain, 'live.test')).toEqual({ status: 200, text: 'got 0' });
    });

    it('answers 413 over HTTP/2, and serves the next request', async () => {
      const headers = await within(http2OverLimit(tls, host), 'the answer to the h2 upload', 10_000);
      expect(headers[':status']).toBe(413);
      expect(served.running(), served.stderr()).toBe(true);
      expect(await get(plain, 'live.test')).toEqual({ status: 200, text: 'got 0' });
    });
  });

  it('printed no unhandled error', () => {
    expect(served.stderr()).not.toMatch(/Unhandled|BodyOverLimit|uncaught/i);
  });
});
