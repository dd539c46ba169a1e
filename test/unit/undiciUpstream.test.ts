import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { DEFAULT_TIMEOUTS, type Timeouts, type UpstreamResponse, type Wire } from '../../src/core/Upstream.ts';
import { UpstreamError } from '../../src/core/UpstreamError.ts';
import { undiciNodeUpstream, undiciUpstream } from '../../src/upstream/undiciUpstream.ts';
import { readNodeBody as readNode, readWebBody as readWeb } from '../helpers/readBody.ts';
import { holdsFor, waitFor, within } from '../helpers/waitFor.ts';

/** A backend whose paths each misbehave in one way; it counts connections and what they sent. */
let backend: Server;
let origin: string;
const openSockets = new Set<Socket>();
/** How much `/huge` has written, and since when it has waited for a 'drain' (undefined while it is not waiting). */
const progress: { written: number; waitingSince: number | undefined } = { written: 0, waitingSince: undefined };
const arrived: string[] = [];

function route(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  arrived.push(path);
  if (path === '/small') {
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    return void res.writeHead(200, { 'content-type': 'text/plain', 'x-seen-host': req.headers.host ?? '' }).end('small body');
  }
  if (path === '/echo') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.writeHead(200).end(Buffer.concat(chunks)));
    return;
  }
  if (path === '/two-parts') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first ');
    const timer = setTimeout(() => res.end('second'), 300);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (path === '/no-content') return void res.writeHead(204).end();
  if (path === '/not-modified') return void res.writeHead(304, { etag: '"v1"' }).end();
  if (path === '/slow-headers') {
    const timer = setTimeout(() => res.writeHead(200).end('late'), 2_000);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (path === '/stall') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return void res.write('partial ');
  }
  if (path === '/die') {
    res.writeHead(200, { 'content-length': 1_000_000 });
    res.write(Buffer.alloc(10_000, 'y'), () => setTimeout(() => res.socket?.destroy(), 50));
    return;
  }
  if (path === '/huge') {
    // 64 MiB offered as fast as the reader takes it; `progress` shows how far it got.
    progress.written = 0;
    progress.waitingSince = undefined;
    const total = 64 * 1024 * 1024;
    res.writeHead(200, { 'content-length': total });
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const write = () => {
      while (progress.written < total) {
        progress.written += chunk.length;
        if (res.write(chunk)) continue;
        progress.waitingSince = Date.now();
        return void res.once('drain', () => ((progress.waitingSince = undefined), write()));
      }
      res.end();
    };
    return write();
  }
  res.writeHead(404).end();
}

/** A raw TCP backend for answers node:http will not write: early hints, status 999, latin-1 bytes. */
let rawBackend: TcpServer;
let rawOrigin: string;
const RAW_ANSWERS: Record<string, string> = {
  '/early-hints':
    'HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n' + 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal',
  '/status-999': 'HTTP/1.1 999 Whatever\r\ncontent-length: 4\r\n\r\nodd!',
  '/latin1': 'HTTP/1.1 200 OK\r\nx-name: caf\xe9\r\ncontent-length: 2\r\n\r\nok',
  '/tunnel': 'HTTP/1.1 200 Connection Established\r\n\r\n',
  '/switch': 'HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: something\r\n\r\n',
};

/**
 * A raw TCP backend that sends `100 Continue` unasked (RFC 9110 section 15.2: a client must accept
 * it), reading requests with their content-length bodies, several on one connection. Every answer
 * names its connection in `x-connection`.
 */
let continueBackend: TcpServer;
let continueOrigin: string;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const okFrom = (connection: number, body = 'ok') => `HTTP/1.1 200 OK\r\nx-connection: ${connection}\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

interface ContinueAnswer {
  /** Once the request head is in. */
  head?(socket: Socket, connection: number, declaredLength: number): void;
  /** Per piece of request body, as it arrives. */
  body?(socket: Socket, piece: Buffer): void;
  /** Once the whole request is in. */
  end?(socket: Socket, connection: number, body: Buffer): void;
}

const CONTINUE_ANSWERS: Record<string, ContinueAnswer> = {
  '/continue': { end: (socket, connection) => socket.write(CONTINUE + okFrom(connection)) },
  '/continue-twice': {
    end: (socket, connection) =>
      socket.write(CONTINUE + 'HTTP/1.1 100 Continue\r\nx-a: 1\r\n\r\n' + 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n' + CONTINUE + okFrom(connection)),
  },
  // Cut inside the status line, inside the empty line, and inside the final status line, each piece
  // its own TCP segment.
  '/continue-split': {
    end: (socket, connection) => {
      const answer = CONTINUE + okFrom(connection);
      const cuts = [0, 10, 24, 25, 31, answer.length];
      let piece = 0;
      const next = () => {
        if (socket.destroyed || piece === cuts.length - 1) return;
        socket.write(answer.slice(cuts[piece], cuts[++piece]));
        const timer = setTimeout(next, 20);
        socket.once('close', () => clearTimeout(timer));
      };
      next();
    },
  },
  // The 100 as soon as the head is in, while the client is still sending the body; the final
  // response once the body is whole, echoing it.
  '/continue-upload': {
    head: (socket) => socket.write(CONTINUE),
    end: (socket, connection, body) => socket.write(okFrom(connection, body.toString('latin1'))),
  },
  // The final response as soon as the head is in, its body echoing the request body as it arrives.
  '/early-echo': {
    head: (socket, connection, declaredLength) => socket.write(`HTTP/1.1 200 OK\r\nx-connection: ${connection}\r\ncontent-length: ${declaredLength}\r\n\r\n`),
    body: (socket, piece) => socket.write(piece),
  },
};
let continueConnections = 0;

beforeAll(async () => {
  backend = createServer(route);
  backend.keepAliveTimeout = 10_000;
  backend.on('connection', (socket: Socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

  rawBackend = createTcpServer((socket) => {
    socket.on('error', () => {});
    let seen = '';
    socket.on('data', (data) => {
      seen += data.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      const path = seen.split(' ')[1];
      seen = seen.slice(end + 4);
      socket.write(Buffer.from(RAW_ANSWERS[path] ?? 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n', 'latin1'));
    });
  });
  await new Promise<void>((resolve) => rawBackend.listen(0, '127.0.0.1', resolve));
  rawOrigin = `http://127.0.0.1:${(rawBackend.address() as AddressInfo).port}`;

  continueBackend = createTcpServer((socket) => {
    const connection = ++continueConnections;
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let request: { answer: ContinueAnswer; remaining: number; body: Buffer[] } | undefined;
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        if (!request) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffered.subarray(0, end).toString('latin1');
          buffered = buffered.subarray(end + 4);
          const declaredLength = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          const answer = CONTINUE_ANSWERS[head.split(' ')[1]] ?? { end: (s: Socket) => s.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n') };
          request = { answer, remaining: declaredLength, body: [] };
          answer.head?.(socket, connection, declaredLength);
        }
        const piece = buffered.subarray(0, request.remaining);
        buffered = buffered.subarray(piece.length);
        if (piece.length > 0) {
          request.remaining -= piece.length;
          request.body.push(piece);
          request.answer.body?.(socket, piece);
        }
        if (request.remaining > 0) return;
        request.answer.end?.(socket, connection, Buffer.concat(request.body));
        request = undefined;
      }
    });
  });
  await new Promise<void>((resolve) => continueBackend.listen(0, '127.0.0.1', resolve));
  continueOrigin = `http://127.0.0.1:${(continueBackend.address() as AddressInfo).port}`;
});

afterAll(async () => {
  backend.closeAllConnections();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  await new Promise<void>((resolve) => rawBackend.close(() => resolve()));
  await new Promise<void>((resolve) => continueBackend.close(() => resolve()));
});

/** A Node-style client-gone signal, as `ClientSignal` is: a plain emitter with `aborted`. */
class TestSignal extends EventEmitter {
  aborted = false;
  abort() {
    this.aborted = true;
    this.emit('abort');
  }
}

interface Variant {
  name: string;
  make(): ((request: Parameters<ReturnType<typeof undiciUpstream>>[0] | Parameters<ReturnType<typeof undiciNodeUpstream>>[0]) => Promise<UpstreamResponse<Wire & { body: unknown }>>) & {
    close(): Promise<void>;
  };
  signal(): { signal: Wire['signal']; abort(): void };
  isStream(body: unknown): boolean;
  read(body: unknown): Promise<string>;
  cancel(body: unknown): void;
}

const VARIANTS: Variant[] = [
  {
    name: 'Node wire (undiciNodeUpstream)',
    make: () => undiciNodeUpstream() as unknown as ReturnType<Variant['make']>,
    signal: () => {
      const signal = new TestSignal();
      return { signal, abort: () => signal.abort() };
    },
    isStream: (body) => body instanceof Readable,
    read: (body) => (body instanceof Uint8Array ? Promise.resolve(Buffer.from(body).toString('latin1')) : readNode(body as Readable)),
    cancel: (body) => (body as Readable).destroy(),
  },
  {
    name: 'web wire (undiciUpstream)',
    make: () => undiciUpstream() as unknown as ReturnType<Variant['make']>,
    signal: () => {
      const controller = new AbortController();
      return { signal: controller.signal, abort: () => controller.abort() };
    },
    isStream: (body) => body instanceof ReadableStream,
    read: (body) => (body instanceof Uint8Array ? Promise.resolve(Buffer.from(body).toString('latin1')) : readWeb(body as ReadableStream<Uint8Array>)),
    cancel: (body) => void (body as ReadableStream<Uint8Array>).cancel().catch(() => {}),
  },
];

describe.each(VARIANTS)('$name', (variant) => {
  let upstream: ReturnType<Variant['make']>;
  beforeAll(() => {
    upstream = variant.make();
  });
  afterAll(() => upstream.close());

  const send = (
    path: string,
    options: { at?: string; method?: string; body?: unknown; headers?: string[]; timeouts?: Partial<Timeouts>; signal?: Wire['signal']; via?: typeof upstream } = {},
  ) =>
    (options.via ?? upstream)({
      origin: options.at ?? origin,
      target: path,
      method: options.method ?? 'GET',
      headers: new FieldList(options.headers ?? ['host', 'app.test']),
      body: (options.body ?? null) as never,
      signal: (options.signal ?? variant.signal().signal) as never,
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    });

  it('hands a small body that arrived with the headers over as bytes, with every header field', async () => {
    const response = await within(send('/small'), 'the response');
    expect(response.status).toBe(200);
    expect(response.body).toBeInstanceOf(Uint8Array);
    expect(variant.isStream(response.body)).toBe(false);
    expect(await variant.read(response.body)).toBe('small body');
    const fields = response.headers as FieldList;
    expect(fields.get('x-seen-host')).toBe('app.test');
    expect(fields.flat.filter((_, i) => i % 2 === 0 && fields.flat[i] === 'set-cookie').length).toBe(2);
    expect(fields.get('set-cookie')).toBe('a=1, b=2');
  });

  it('streams a body that is still arriving: the first part can be read before the backend ends', async () => {
    const response = await within(send('/two-parts'), 'the headers', 250);
    expect(variant.isStream(response.body)).toBe(true);
    expect(await within(variant.read(response.body), 'the whole body')).toBe('first second');
  });

  it('sends a request body and its headers', async () => {
    const payload = 'x'.repeat(100_000);
    const body = variant.name.startsWith('Node') ? Readable.from([Buffer.from(payload)]) : new Blob([payload]).stream();
    const response = await within(send('/echo', { method: 'POST', body, headers: ['host', 'app.test', 'content-length', String(payload.length)] }), 'the echo');
    expect(await within(variant.read(response.body), 'the echoed body')).toBe(payload);
  });

  it.each([
    ['204', '/no-content', 'GET'],
    ['304', '/not-modified', 'GET'],
    ['a HEAD', '/small', 'HEAD'],
  ])('hands %s over with no body', async (_, path, method) => {
    const response = await within(send(path, { method }), 'the response');
    expect(response.body).toBeNull();
    // The connection is usable afterwards: the next request on it succeeds.
    expect((await within(send('/small'), 'the next response')).status).toBe(200);
  });

  it('passes an early-hints answer by and resolves with the final response', async () => {
    const response = await within(send('/early-hints', { at: rawOrigin }), 'the final response');
    expect(response.status).toBe(200);
    expect(await variant.read(response.body)).toBe('final');
  });

  /** A request body sent in `pieces`, 50 ms apart, as the variant's kind of stream. */
  const paced = (pieces: string[]) => {
    async function* produce() {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        yield Buffer.from(piece, 'latin1');
      }
    }
    if (variant.name.startsWith('Node')) return Readable.from(produce());
    const pieceIterator = produce();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await pieceIterator.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
    });
  };
  // undici takes a connection back one turn of the event loop after its response ended.
  const connectionFree = () => new Promise((resolve) => setTimeout(resolve, 10));
  const upload = (path: string, pieces: string[]) =>
    send(path, { at: continueOrigin, method: 'POST', body: paced(pieces), headers: ['host', 'app.test', 'content-length', String(pieces.join('').length)] });

  it('reads past an unsolicited 100 Continue to the final response, and sends the next request on the same connection', async () => {
    // A client of its own, with no connections but the ones this test opens.
    const via = variant.make();
    onTestFinished(() => via.close());
    const first = await within(send('/continue', { at: continueOrigin, via }), 'the final response');
    expect(first.status).toBe(200);
    expect(await variant.read(first.body)).toBe('ok');
    await connectionFree();
    const second = await within(send('/continue', { at: continueOrigin, via }), 'the next response');
    expect(second.status).toBe(200);
    expect(await variant.read(second.body)).toBe('ok');
    expect(second.headers.get('x-connection')).toBe(first.headers.get('x-connection'));
  });

  it('reads past a 100 Continue that arrives cut into pieces', async () => {
    // A client of its own, with no connections but the ones this test opens.
    const via = variant.make();
    onTestFinished(() => via.close());
    const first = await within(send('/continue-split', { at: continueOrigin, via }), 'the final response');
    expect(first.status).toBe(200);
    expect(await variant.read(first.body)).toBe('ok');
    await connectionFree();
    const second = await within(send('/continue-split', { at: continueOrigin, via }), 'the next response');
    expect(await variant.read(second.body)).toBe('ok');
    expect(second.headers.get('x-connection')).toBe(first.headers.get('x-connection'));
  });

  it('reads past several 100 Continues with an early hint among them', async () => {
    const response = await within(send('/continue-twice', { at: continueOrigin }), 'the final response');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-a')).toBeNull();
    expect(response.headers.get('link')).toBeNull();
    expect(await variant.read(response.body)).toBe('ok');
  });

  it('reads past a 100 Continue that arrives while the request body is still being sent', async () => {
    const response = await within(upload('/continue-upload', ['first,', 'second,', 'third']), 'the final response');
    expect(response.status).toBe(200);
    expect(await within(variant.read(response.body), 'the echoed body')).toBe('first,second,third');
    const next = await within(send('/continue', { at: continueOrigin }), 'the next response');
    expect(await variant.read(next.body)).toBe('ok');
  });

  it('leaves a response body alone that reads like a 100 Continue, though it arrives between request body pieces', async () => {
    const pieces = ['start;', CONTINUE, 'end'];
    const response = await within(upload('/early-echo', pieces), 'the response');
    expect(response.status).toBe(200);
    expect(await within(variant.read(response.body), 'the echoed body')).toBe(pieces.join(''));
  });

  it('keeps header values byte for byte (latin-1)', async () => {
    const response = await within(send('/latin1', { at: rawOrigin }), 'the response');
    expect(response.headers.get('x-name')).toBe('caf\xe9');
  });

  it('rejects a status outside 200-599 as a failure', async () => {
    const error = await within(send('/status-999', { at: rawOrigin }), 'the rejection').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ failure: 'failed', message: expect.stringContaining('999') });
  });

  it.each([
    ['a CONNECT the backend accepts', '/tunnel', 'CONNECT'],
    ['a switch of protocols nobody asked for', '/switch', 'GET'],
  ])('rejects %s, rather than leaving the exchange unanswered', async (_, path, method) => {
    await expect(within(send(path, { at: rawOrigin, method }), 'the rejection')).rejects.toMatchObject({ failure: 'failed' });
  });

  it('rejects a refused connection as a connect failure', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(within(send('/small', { at: `http://127.0.0.1:${port}` }), 'the rejection')).rejects.toMatchObject({ failure: 'connect' });
  });

  it('rejects late response headers as a timeout', async () => {
    await expect(within(send('/slow-headers', { timeouts: { responseHeaders: 100 } }), 'the rejection')).rejects.toMatchObject({ failure: 'timeout' });
  });

  it('fails a body that stalls as a timeout', async () => {
    const response = await within(send('/stall', { timeouts: { bodyIdle: 150 } }), 'the headers');
    await expect(within(variant.read(response.body), 'the failing body')).rejects.toMatchObject({ failure: 'timeout' });
  });

  it('fails a body whose backend dies midway, rather than ending it as complete', async () => {
    const response = await within(send('/die'), 'the headers');
    await expect(within(variant.read(response.body), 'the failing body')).rejects.toMatchObject({ failure: 'failed' });
  });

  it('rejects at once when the client goes away before the headers, and closes the backend connection', async () => {
    const client = variant.signal();
    const arrivedBefore = arrived.length;
    const pending = send('/slow-headers', { signal: client.signal });
    await waitFor(() => arrived.length > arrivedBefore, 2_000, 'the request to reach the backend');
    const before = openSockets.size;
    client.abort();
    await expect(within(pending, 'the rejection', 500)).rejects.toBeInstanceOf(UpstreamError);
    await waitFor(() => openSockets.size < before, 2_000, 'the backend connection to close');
  });

  it('rejects a request whose client had already gone', async () => {
    const client = variant.signal();
    client.abort();
    await expect(within(send('/small', { signal: client.signal }), 'the rejection')).rejects.toBeInstanceOf(UpstreamError);
  });

  it('pauses the backend while the reader is not reading, and closes its connection when the reader goes away', async () => {
    const response = await within(send('/huge'), 'the headers');
    await waitFor(() => progress.written > 0, 2_000, 'the backend to start writing');
    // Unread, the body stops the backend far short of its 64 MiB once the buffers are full. While
    // the reader reads, the backend waits for a drain after almost every chunk, briefly; stopped,
    // it waits for one that never comes, and writes nothing meanwhile.
    await waitFor(() => progress.waitingSince !== undefined && Date.now() - progress.waitingSince >= 200, 5_000, 'the backend to wait 200 ms for the reader');
    const stalledAt = progress.written;
    await holdsFor(() => progress.written === stalledAt, 100, 'the backend stays paused');
    expect(progress.written).toBe(stalledAt);
    expect(stalledAt).toBeLessThan(32 * 1024 * 1024);
    const before = openSockets.size;
    variant.cancel(response.body);
    await waitFor(() => openSockets.size < before, 2_000, 'the backend connection to close');
  });
});
