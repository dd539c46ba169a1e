import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createSecureServer, createServer, type Http2Server, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENO_BINARY } from '../helpers/runtimes.ts';
import { CLI, PROJECT_ROOT } from '../helpers/startBalancer.ts';
import { waitFor } from '../helpers/waitFor.ts';

// HTTP/2 and gRPC to backends (issue 14, point 5) on Node (`switchyard serve` from the build: run
// `npm run build` first) and Deno (`deno task serve`), over loopback. A @grpc/grpc-js server
// listens in cleartext (h2c); a @grpc/grpc-js client calls it through the balancer's TLS listener
// (HTTP/2 by ALPN, a certificate made here by openssl), the route speaking `protocol: h2c`: all
// four kinds of call, errors with their status, message and trailing metadata (trailers-only and
// after messages), a deadline, and a cancelled call. Plain node:http2 backends show trailers
// passed through to an h2 client, and `protocol: http2` to a TLS backend.

let dir: string;

const PROTO = `
syntax = "proto3";
package switchyard.test;
service Echo {
  rpc Say (Note) returns (Note);
  rpc Count (Note) returns (stream Note);
  rpc Sum (stream Note) returns (Note);
  rpc Chat (stream Note) returns (stream Note);
}
message Note { string text = 1; int32 number = 2; }
`;

interface Note {
  text: string;
  number: number;
}

/** What the gRPC backend saw of the calls that test deadlines and cancellation. */
const seen = { deadlines: [] as (Date | number)[], cancelled: [] as string[] };

function makeCertificate(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...newKey, '-days', '2', '-subj', '/CN=Switchyard test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', '-new', ...newKey, '-subj', '/CN=localhost', '-keyout', 'localhost.key', '-out', 'localhost.csr');
  writeFileSync(join(dir, 'localhost.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'localhost.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'localhost.pem', '-extfile', 'localhost.ext');
}

const pem = (name: string) => readFileSync(join(dir, name));

function loadEcho(): grpc.ServiceClientConstructor {
  writeFileSync(join(dir, 'echo.proto'), PROTO);
  const definition = protoLoader.loadSync(join(dir, 'echo.proto'), { defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as { switchyard: { test: { Echo: grpc.ServiceClientConstructor } } };
  return root.switchyard.test.Echo;
}

const trailing = (entries: Record<string, string>) => {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
};

/** The gRPC backend, cleartext HTTP/2 (what grpc-js's createInsecure serves). */
async function grpcBackend(Echo: grpc.ServiceClientConstructor): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(Echo.service, {
    Say(call: grpc.ServerUnaryCall<Note, Note>, callback: grpc.sendUnaryData<Note>) {
      const { text, number } = call.request;
      if (text === 'fail') return callback({ code: grpc.status.NOT_FOUND, details: 'no such note: fail', metadata: trailing({ 'x-reason': 'asked to fail' }) });
      if (text === 'slow') {
        seen.deadlines.push(call.getDeadline());
        const timer = setTimeout(() => callback(null, { text: 'too late', number }), 5_000);
        call.on('cancelled', () => {
          clearTimeout(timer);
          seen.cancelled.push('slow');
        });
        return;
      }
      call.sendMetadata(trailing({ 'x-initial': 'hello' }));
      callback(null, { text: `echo: ${text}`, number: number + 1 }, trailing({ 'x-trailing': 'bye' }));
    },
    Count(call: grpc.ServerWritableStream<Note, Note>) {
      const { text, number } = call.request;
      for (let i = 1; i <= number; i++) call.write({ text: `${text} ${i}`, number: i });
      if (text === 'hang') {
        call.on('cancelled', () => seen.cancelled.push('hang'));
        return;
      }
      if (text === 'pause') {
        const timer = setTimeout(() => call.end(), 1_000);
        call.on('cancelled', () => clearTimeout(timer));
        return;
      }
      if (text === 'then fail') return call.emit('error', { code: grpc.status.ABORTED, details: `stopped after ${number}`, metadata: trailing({ 'x-reason': 'mid-stream' }) });
      call.end();
    },
    Sum(call: grpc.ServerReadableStream<Note, Note>, callback: grpc.sendUnaryData<Note>) {
      let sum = 0;
      let length = 0;
      call.on('data', (note: Note) => {
        sum += note.number;
        length += note.text.length;
      });
      call.on('end', () => callback(null, { text: `${length} characters`, number: sum }));
    },
    Chat(call: grpc.ServerDuplexStream<Note, Note>) {
      call.on('data', (note: Note) => call.write({ text: note.text.toUpperCase(), number: note.number * 2 }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  return { server, port };
}

/** Requests the plain HTTP/2 backends saw: path and user agent. */
const plainSeen: { path: string; agent: string }[] = [];

/** A plain HTTP/2 backend that answers with a body and trailers, and with what it was sent. */
function answerWithTrailers(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  plainSeen.push({ path: String(headers[':path']), agent: String(headers['user-agent']) });
  let body = '';
  stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-te': String(headers.te), 'x-authority': String(headers[':authority']) }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': String(body.length), 'x-done': 'yes' }));
    stream.end(`got ${body || 'nothing'}`);
  });
}

async function listenOn<S extends Http2Server | Http2SecureServer>(server: S): Promise<{ server: S; port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

interface Served {
  readonly https: string;
  readonly h2c: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the balancer on its config's own listeners; resolves once both are listening. */
function serve(command: string, args: string[]): Promise<Served> {
  const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not listening within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const https = /listening on (https:\/\/\S+)/.exec(output);
      const h2c = /listening on (http:\/\/\S+)/.exec(output);
      if (!https || !h2c) return;
      clearTimeout(timer);
      resolve({
        https: https[1],
        h2c: h2c[1],
        child,
        output: () => output,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(force);
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
}

/** One HTTP/2 request over a fresh session: status, headers, body and trailers. */
function h2Request(url: string, path: string, options: { authority: string; body?: string; ca?: Buffer }) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string; trailers: IncomingHttpHeaders | undefined }>((resolve, reject) => {
    const session = connect(url, { ca: options.ca, servername: 'localhost' });
    session.on('error', reject);
    const stream = session.request({ ':method': options.body === undefined ? 'GET' : 'POST', ':path': path, ':authority': options.authority }, { endStream: options.body === undefined });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    let body = '';
    stream.on('response', (fields) => (headers = fields));
    stream.on('trailers', (fields) => (trailers = fields));
    stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
    stream.on('error', reject);
    stream.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), headers, body, trailers });
    });
    if (options.body !== undefined) stream.end(options.body);
  });
}

const unary = (client: grpc.Client, method: string, note: Partial<Note>, options: grpc.CallOptions = {}) =>
  new Promise<{ error: grpc.ServiceError | null; reply?: Note; initial?: grpc.Metadata; status?: grpc.StatusObject }>((resolve) => {
    let initial: grpc.Metadata | undefined;
    let status: grpc.StatusObject | undefined;
    const call = (client as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>)[method](note, new grpc.Metadata(), options, (error: grpc.ServiceError | null, reply?: Note) =>
      // The status event comes after the callback.
      setImmediate(() => resolve({ error, reply, initial, status })),
    );
    call.on('metadata', (metadata) => (initial = metadata));
    call.on('status', (value) => (status = value));
  });

const collect = (call: grpc.ClientReadableStream<Note>) =>
  new Promise<{ notes: Note[]; status: grpc.StatusObject; error?: grpc.ServiceError }>((resolve) => {
    const notes: Note[] = [];
    let error: grpc.ServiceError | undefined;
    call.on('data', (note: Note) => notes.push(note));
    call.on('error', (e: grpc.ServiceError) => (error = e));
    call.on('status', (status: grpc.StatusObject) => setImmediate(() => resolve({ notes, status, error })));
  });

let Echo: grpc.ServiceClientConstructor;
let grpcServer: { server: grpc.Server; port: number };
let h2cBackend: { server: Http2Server; port: number };
let tlsBackend: { server: Http2SecureServer; port: number };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-grpc-'));
  makeCertificate();
  Echo = loadEcho();
  grpcServer = await grpcBackend(Echo);
  h2cBackend = await listenOn(createServer().on('stream', answerWithTrailers));
  tlsBackend = await listenOn(createSecureServer({ cert: pem('localhost.pem'), key: pem('localhost.key') }).on('stream', answerWithTrailers));
  writeFileSync(
    join(dir, 'lb.yaml'),
    `listen:
  - address: 127.0.0.1:0
    tls:
      certificates: [{ cert: localhost.pem, key: localhost.key }]
  - address: 127.0.0.1:0
    http2: h2c
health_check: false
retries: false
hosts:
  - host: trailers.test
    servers: [127.0.0.1:${h2cBackend.port}]
    protocol: h2c
    health_check: { interval: 200ms, timeout: 1s }
  - host: idle.test
    servers: [127.0.0.1:${grpcServer.port}]
    protocol: h2c
    timeouts: { body_idle: 300ms }
  - host: tls.test
    servers: [https://127.0.0.1:${tlsBackend.port}]
    protocol: http2
    tls: { ca: ca.pem, servername: localhost }
paths:
  - path: /
    servers: [127.0.0.1:${grpcServer.port}]
    protocol: h2c
`,
  );
});

afterAll(async () => {
  grpcServer?.server.forceShutdown();
  h2cBackend?.server.close();
  tlsBackend?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

const RUNTIMES = {
  node: () => serve(process.execPath, [CLI, 'serve', '--config', join(dir, 'lb.yaml')]),
  deno: () => serve(DENO_BINARY, ['task', 'serve', '--config', join(dir, 'lb.yaml')]),
};

describe.each(Object.keys(RUNTIMES) as (keyof typeof RUNTIMES)[])('gRPC and HTTP/2 to backends on %s', (runtime) => {
  let balancer: Served;
  let client: grpc.Client;

  beforeAll(async () => {
    balancer = await RUNTIMES[runtime]();
    const port = new URL(balancer.https).port;
    client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createSsl(pem('ca.pem')), { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
  }, 40_000);

  afterAll(async () => {
    client?.close();
    await balancer?.stop();
  });

  it('passes a unary call, with its initial and trailing metadata', async () => {
    const { error, reply, initial, status } = await unary(client, 'Say', { text: 'hi', number: 41 });
    expect(error).toBeNull();
    expect(reply).toEqual({ text: 'echo: hi', number: 42 });
    expect(initial?.get('x-initial')).toEqual(['hello']);
    expect(status?.code).toBe(grpc.status.OK);
    expect(status?.metadata.get('x-trailing')).toEqual(['bye']);
  });

  it('passes a server-streaming call', async () => {
    const { notes, status } = await collect((client as unknown as { Count(note: Partial<Note>): grpc.ClientReadableStream<Note> }).Count({ text: 'tick', number: 50 }));
    expect(status.code).toBe(grpc.status.OK);
    expect(notes).toHaveLength(50);
    expect(notes[49]).toEqual({ text: 'tick 50', number: 50 });
  });

  it('passes a client-streaming call, a megabyte up', async () => {
    const reply = await new Promise<Note>((resolve, reject) => {
      const call = (client as unknown as { Sum(callback: grpc.requestCallback<Note>): grpc.ClientWritableStream<Note> }).Sum((error, note) => (error ? reject(error) : resolve(note!)));
      for (let i = 1; i <= 64; i++) call.write({ text: 'x'.repeat(16 * 1024), number: i });
      call.end();
    });
    expect(reply).toEqual({ text: `${64 * 16 * 1024} characters`, number: (64 * 65) / 2 });
  });

  it('passes a bidirectional call, each answer before the next question', async () => {
    const call = (client as unknown as { Chat(): grpc.ClientDuplexStream<Note, Note> }).Chat();
    const answers: Note[] = [];
    for (const [i, text] of ['one', 'two', 'three'].entries()) {
      const answer = new Promise<Note>((resolve) => call.once('data', resolve));
      call.write({ text, number: i + 1 });
      answers.push(await answer);
    }
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.end();
    expect(answers).toEqual([
      { text: 'ONE', number: 2 },
      { text: 'TWO', number: 4 },
      { text: 'THREE', number: 6 },
    ]);
    expect((await status).code).toBe(grpc.status.OK);
  });

  it('passes an error sent trailers-only, with its status, message and trailing metadata', async () => {
    const { error, status } = await unary(client, 'Say', { text: 'fail' });
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(error?.details).toBe('no such note: fail');
    expect(status?.metadata.get('x-reason')).toEqual(['asked to fail']);
  });

  it('passes an error sent after messages, in the trailers', async () => {
    const { notes, status } = await collect((client as unknown as { Count(note: Partial<Note>): grpc.ClientReadableStream<Note> }).Count({ text: 'then fail', number: 3 }));
    expect(notes.map((note) => note.number)).toEqual([1, 2, 3]);
    expect(status.code).toBe(grpc.status.ABORTED);
    expect(status.details).toBe('stopped after 3');
    expect(status.metadata.get('x-reason')).toEqual(['mid-stream']);
  });

  it('gives the backend the deadline, and the client DEADLINE_EXCEEDED when it passes', async () => {
    const before = seen.deadlines.length;
    const cancelledBefore = seen.cancelled.filter((name) => name === 'slow').length;
    const sent = Date.now();
    const { error } = await unary(client, 'Say', { text: 'slow' }, { deadline: sent + 500 });
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(seen.deadlines).toHaveLength(before + 1);
    // grpc-timeout is relative: the backend's deadline is the client's, give or take the trip.
    expect(Math.abs(Number(seen.deadlines[before]) - (sent + 500))).toBeLessThan(400);
    await waitFor(() => seen.cancelled.filter((name) => name === 'slow').length > cancelledBefore, 5_000, 'the backend sees the slow call cancelled at its deadline');
  });

  it('cancels the backend call when the client cancels', async () => {
    const before = seen.cancelled.filter((name) => name === 'hang').length;
    const call = (client as unknown as { Count(note: Partial<Note>): grpc.ClientReadableStream<Note> }).Count({ text: 'hang', number: 1 });
    call.on('error', () => {});
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    await waitFor(() => seen.cancelled.filter((name) => name === 'hang').length > before, 5_000, 'the backend sees the call cancelled');
    expect(seen.cancelled.filter((name) => name === 'hang').length).toBe(before + 1);
  });

  it('cancels the backend call when the client cancels before any answer', async () => {
    const before = seen.deadlines.length;
    const cancelledBefore = seen.cancelled.filter((name) => name === 'slow').length;
    const call = (client as unknown as { Say(note: Partial<Note>, callback: grpc.requestCallback<Note>): grpc.ClientUnaryCall }).Say({ text: 'slow' }, () => {});
    await waitFor(() => seen.deadlines.length > before, 5_000, 'the backend has the call');
    expect(seen.deadlines[before]).toBe(Infinity);
    call.cancel();
    await waitFor(() => seen.cancelled.filter((name) => name === 'slow').length > cancelledBefore, 3_000, 'the backend sees the call cancelled');
  });

  it('cuts a streaming call off when the server is quiet for longer than body_idle', async () => {
    const port = new URL(balancer.https).port;
    const impatient = new Echo(`127.0.0.1:${port}`, grpc.credentials.createSsl(pem('ca.pem')), { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'idle.test' });
    try {
      const { notes, status } = await collect((impatient as unknown as { Count(note: Partial<Note>): grpc.ClientReadableStream<Note> }).Count({ text: 'pause', number: 1 }));
      expect(notes).toHaveLength(1);
      expect([grpc.status.INTERNAL, grpc.status.UNAVAILABLE]).toContain(status.code);
    } finally {
      impatient.close();
    }
  });

  it('probes an h2c backend over HTTP/2', async () => {
    await waitFor(() => plainSeen.some((request) => request.path === '/healthcheck' && request.agent === 'switchyard-health-check'), 5_000, 'a probe over h2c');
    expect(balancer.output()).not.toContain('DOWN');
  });

  it("passes an h2c backend's trailers to an HTTP/2 client, and sends it te: trailers and the client's authority", async () => {
    const answer = await h2Request(balancer.h2c, '/sum', { authority: 'trailers.test', body: 'twelve bytes' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('got twelve bytes');
    expect(answer.headers['x-te']).toBe('trailers');
    expect(answer.headers['x-authority']).toBe('trailers.test');
    expect(answer.trailers).toMatchObject({ 'x-checksum': '12', 'x-done': 'yes' });
  });

  it("passes an h2c backend's trailers to an HTTP/1.1 client that sent TE: trailers, chunked, and to one that did not, none", async () => {
    const get = (te: boolean) =>
      new Promise<{ body: string; chunked: boolean; trailers: Record<string, string | undefined> }>((resolve, reject) => {
        const { hostname, port } = new URL(balancer.https);
        const headers = { host: 'trailers.test', ...(te && { te: 'trailers', connection: 'te' }) };
        httpsRequest({ hostname, port, path: '/h1', servername: 'localhost', ca: pem('ca.pem'), headers }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ body, chunked: response.headers['transfer-encoding'] === 'chunked', trailers: response.trailers }));
        })
          .on('error', reject)
          .end();
      });
    const asked = await get(true);
    expect(asked).toMatchObject({ body: 'got nothing', chunked: true, trailers: { 'x-checksum': '0', 'x-done': 'yes' } });
    expect((await get(false)).trailers).toEqual({});
  });

  it('speaks HTTP/2 over TLS to a backend with protocol: http2, trailers and all', async () => {
    const answer = await h2Request(balancer.https, '/', { authority: 'tls.test', ca: pem('ca.pem') });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('got nothing');
    expect(answer.trailers).toMatchObject({ 'x-checksum': '0', 'x-done': 'yes' });
  });

  it('logs no 5xx of its own along the way', () => {
    expect(balancer.output()).not.toMatch(/^switchyard: 5\d\d /m);
  });
});


