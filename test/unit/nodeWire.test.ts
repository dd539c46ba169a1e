import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { errors } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { UpstreamError } from '../../src/core/UpstreamError.ts';
import type { Answer } from '../../src/core/Answer.ts';
import { ClientSignal, nodeBodies, sendAnswer, type NodeWire } from '../../src/server/nodeWire.ts';
import { within } from '../helpers/waitFor.ts';

const closed = (stream: Readable | ServerResponse) => within(new Promise<void>((resolve) => stream.once('close', () => resolve())), 'close');

async function collect(body: Readable | Uint8Array): Promise<string> {
  if (!(body instanceof Readable)) return Buffer.from(body).toString();
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await within(new Promise<void>((resolve) => server.close(() => resolve())), 'server close');
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await within(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 'listen');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('nodeBodies.readAhead', () => {
  it('reads a body within the limit as bytes that replay the same every time', async () => {
    const ahead = await within(nodeBodies.readAhead(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5), 'readAhead');
    expect(ahead.replayable).toBe(true);
    const first = ahead.replay();
    expect(first).toBeInstanceOf(Uint8Array);
    expect(await collect(first)).toBe('abcde');
    expect(await collect(ahead.replay())).toBe('abcde');
  });

  it('reads an empty body as empty bytes', async () => {
    const ahead = await within(nodeBodies.readAhead(Readable.from([]), 5), 'readAhead');
    expect(ahead.replayable).toBe(true);
    expect(await collect(ahead.replay())).toBe('');
  });

  it('replays a body already in bytes as it is', async () => {
    const bytes = new TextEncoder().encode('payload');
    const ahead = await nodeBodies.readAhead(bytes, 1);
    expect(ahead.replayable).toBe(true);
    expect(ahead.replay()).toBe(bytes);
  });

  it('gives a body over the limit back once, whole and in order, without destroying the source', async () => {
    const source = new PassThrough();
    source.write('aaaa');
    source.write('bbbb');
    const ahead = await within(nodeBodies.readAhead(source, 5), 'readAhead');
    expect(ahead.replayable).toBe(false);
    expect(source.destroyed).toBe(false);
    const body = ahead.replay();
    source.write('cccc');
    source.end('dddd');
    expect(await within(collect(body), 'the replayed body')).toBe('aaaabbbbccccdddd');
  });

  it('rejects when the source breaks off', async () => {
    const source = new Readable({
      read() {
        this.destroy(new Error('reset'));
      },
    });
    await expect(within(nodeBodies.readAhead(source, 1024), 'readAhead')).rejects.toThrow('reset');
  });
});

describe('nodeBodies.track', () => {
  const track = (body: NodeWire['body']) => {
    const events: string[] = [];
    const errorsSeen: unknown[] = [];
    const tracked = nodeBodies.track(
      body,
      () => events.push('done'),
      (error) => {
        errorsSeen.push(error);
        events.push('error');
      },
    );
    return { tracked, events, errorsSeen };
  };

  it('calls done once when the body is read to its end', async () => {
    const source = new PassThrough();
    const { tracked, events } = track(source);
    expect(tracked).toBe(source);
    const sourceClosed = closed(source);
    source.end('all of it');
    expect(await within(collect(source), 'the body')).toBe('all of it');
    await sourceClosed;
    expect(events).toEqual(['done']);
  });

  it('calls done once, and reports no error, when the body is destroyed because the client went away', async () => {
    const source = new PassThrough();
    const { events } = track(source);
    source.write('part');
    source.destroy();
    await closed(source);
    expect(events).toEqual(['done']);
  });

  it.each<[string, Error, string]>([
    ['a reset', new Error('socket reset'), 'failed'],
    ["undici's body timeout", new errors.BodyTimeoutError(), 'timeout'],
  ])('reports %s at the source as an UpstreamError, then done once', async (_, cause, failure) => {
    const source = new PassThrough();
    const { events, errorsSeen } = track(source);
    source.write('part');
    source.destroy(cause);
    await closed(source);
    expect(events).toEqual(['error', 'done']);
    expect(errorsSeen[0]).toBeInstanceOf(UpstreamError);
    expect(errorsSeen[0]).toMatchObject({ failure, cause });
  });

  it('calls done at once for bytes and hands the same bytes back', () => {
    const bytes = new TextEncoder().encode('whole');
    const { tracked, events } = track(bytes);
    expect(events).toEqual(['done']);
    expect(tracked).toBe(bytes);
  });
});

describe('nodeBodies.discard', () => {
  it('destroys the body, and an error it emits afterwards is not left unhandled', () => {
    const source = new PassThrough();
    nodeBodies.discard(source);
    expect(source.destroyed).toBe(true);
    expect(() => source.emit('error', new Error('aborted'))).not.toThrow();
  });

  it('survives a source that reports its destruction as an error, as undici does', async () => {
    const source = new Readable({
      read() {},
      destroy(_, callback) {
        callback(new Error('request aborted'));
      },
    });
    nodeBodies.discard(source);
    await closed(source);
    expect(source.errored).toMatchObject({ message: 'request aborted' });
  });
});

describe('ClientSignal', () => {
  /** A server whose handler makes a ClientSignal, then answers with `respond`. */
  async function signalServer(respond: (res: ServerResponse) => void) {
    let seen!: (value: { signal: ClientSignal; aborts: number[]; responseClosed: Promise<void> }) => void;
    const request = new Promise<{ signal: ClientSignal; aborts: number[]; responseClosed: Promise<void> }>((resolve) => (seen = resolve));
    const url = await serve((_, res) => {
      const signal = new ClientSignal(res);
      const aborts: number[] = [];
      signal.on('abort', () => aborts.push(1));
      const responseClosed = closed(res);
      respond(res);
      seen({ signal, aborts, responseClosed });
    });
    return { url, request: within(request, 'the request at the server') };
  }

  it('aborts once when the client leaves before the response has started', async () => {
    const { url, request } = await signalServer(() => {});
    const client = get(url);
    client.on('error', () => {});
    const { signal, aborts, responseClosed } = await request;
    expect(signal.aborted).toBe(false);
    client.destroy();
    await responseClosed;
    expect(signal.aborted).toBe(true);
    expect(aborts).toHaveLength(1);
  });

  it('aborts once when the client leaves in the middle of the response body', async () => {
    const { url, request } = await signalServer((res) => {
      res.writeHead(200);
      res.write('part');
    });
    const client = get(url, (response) => {
      response.once('data', () => client.destroy());
    });
    client.on('error', () => {});
    const { signal, aborts, responseClosed } = await request;
    await responseClosed;
    expect(signal.aborted).toBe(true);
    expect(aborts).toHaveLength(1);
  });

  it('never aborts when the response finishes', async () => {
    const { url, request } = await signalServer((res) => res.end('done'));
    const response = await within(fetch(url), 'fetch');
    expect(await response.text()).toBe('done');
    const { signal, aborts, responseClosed } = await request;
    await responseClosed;
    expect(signal.aborted).toBe(false);
    expect(aborts).toEqual([]);
  });
});

describe('sendAnswer', () => {
  const answering = (answer: Answer<NodeWire['body']>) => serve((_, res) => sendAnswer(res, answer));

  async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
    let got = '';
    while (!got.includes(text)) {
      const read = await within(reader.read(), `a chunk with ${JSON.stringify(text)}`);
      if (read.done) break;
      got += Buffer.from(read.value).toString();
    }
    return got;
  }

  it('sends bytes with the status and every header field of a FieldList', async () => {
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    const headers = new FieldList(['content-type', 'application/octet-stream', 'x-a', '1', 'set-cookie', 'a=1', 'x-a', '2', 'set-cookie', 'b=2']);
    const url = await answering({ status: 201, headers, body: bytes });
    const response = await within(fetch(url), 'fetch');
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('x-a')).toBe('1, 2');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
  });

  it('sends header fields given as a Headers object', async () => {
    const url = await answering({ status: 200, headers: new Headers([['X-From', 'headers'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]), body: 'ok' });
    const response = await within(fetch(url), 'fetch');
    expect(response.headers.get('x-from')).toBe('headers');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('sends a string body', async () => {
    const url = await answering({ status: 503, headers: new FieldList(['content-type', 'text/plain; charset=utf-8']), body: 'Service Unavailable: né\n' });
    const response = await within(fetch(url), 'fetch');
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('Service Unavailable: né\n');
  });

  it('sends a 204 with no body', async () => {
    const url = await answering({ status: 204, headers: new FieldList(['x-a', '1']), body: null });
    const response = await within(fetch(url), 'fetch');
    expect(response.status).toBe(204);
    expect(response.headers.get('x-a')).toBe('1');
    expect(response.body).toBeNull();
  });

  it('streams a Readable body: the client reads the first chunk before the source ends', async () => {
    const source = new PassThrough();
    source.write('first|');
    const url = await answering({ status: 200, headers: new FieldList(), body: source });
    const response = await within(fetch(url), 'fetch');
    const reader = response.body!.getReader();
    expect(await readUntil(reader, 'first|')).toBe('first|');
    expect(source.writableEnded).toBe(false);
    source.end('second');
    expect(await readUntil(reader, 'second')).toBe('second');
    expect((await within(reader.read(), 'the end')).done).toBe(true);
  });

  it('cuts the client off when the Readable fails midway, rather than ending the body as complete', async () => {
    const source = new PassThrough();
    source.write('part|');
    const url = await answering({ status: 200, headers: new FieldList(), body: source });
    const response = await within(fetch(url), 'fetch');
    const reader = response.body!.getReader();
    expect(await readUntil(reader, 'part|')).toBe('part|');
    source.destroy(new Error('backend reset'));
    const rest = (async () => {
      while (!(await reader.read()).done);
      return 'ended as if complete';
    })();
    expect(await within(rest.catch(() => 'cut off'), 'the cut-off')).toBe('cut off');
  });

  it('answers 502 when Node refuses a header field, discards the body, and says why', async () => {
    const source = new PassThrough();
    source.write('never sent');
    const why: unknown[] = [];
    const answer = { status: 200, headers: new FieldList(['x-ok', '1', 'x-bad', 'a\nb']), body: source };
    const url = await serve((_, res) => sendAnswer(res, answer, (error) => why.push(error)));
    const response = await within(fetch(url), 'fetch');
    expect(response.status).toBe(502);
    expect(response.headers.get('x-ok')).toBeNull();
    expect(await response.text()).toBe('Bad Gateway\n');
    expect(source.destroyed).toBe(true);
    expect(why).toEqual([expect.objectContaining({ code: 'ERR_INVALID_CHAR' })]);
  });
});

describe('nodeBodies.limit', () => {
  it('passes a body within the limit unchanged', async () => {
    let exceeded = false;
    expect(await collect(nodeBodies.limit(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5, () => (exceeded = true)))).toBe('abcde');
    expect(exceeded).toBe(false);
  });

  it("errors the body past the limit without destroying the client's stream, which is drained instead", async () => {
    let exceeded = false;
    const client = new PassThrough();
    const limited = nodeBodies.limit(client, 25, () => (exceeded = true));
    for (let i = 0; i < 3; i++) client.write('0123456789');
    await expect(collect(limited)).rejects.toThrow('the request body went past 25 bytes');
    expect(exceeded).toBe(true);
    expect(client.destroyed).toBe(false);
    // What the client still sends is read and dropped, not left to stall its connection.
    client.write('more');
    client.end();
    await within(new Promise((resolve) => client.once('end', resolve)), 'the client stream drained');
  });

  /** Errors that reached no listener while `during` ran and a few ticks after it. */
  async function unheardErrors(during: () => void | Promise<void>): Promise<unknown[]> {
    const unheard: unknown[] = [];
    const hear = (error: unknown) => void unheard.push(error);
    process.on('uncaughtException', hear);
    try {
      await during();
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', hear);
    }
    return unheard;
  }

  it('fails quietly when its first chunk is over the limit before anyone reads it, and a late reader still hears why', async () => {
    let exceeded = false;
    const client = new PassThrough();
    let limited!: Readable | Uint8Array;
    // The upstream client takes the body only once connected, if ever (the backend down).
    const unheard = await unheardErrors(() => {
      limited = nodeBodies.limit(client, 1024, () => (exceeded = true));
      client.write(Buffer.alloc(2048));
    });
    expect(unheard).toEqual([]);
    expect(exceeded).toBe(true);
    expect(client.destroyed).toBe(false);
    await expect(collect(limited)).rejects.toThrow('the request body went past 1024 bytes');
  });

  it('fails quietly when the client breaks off its upload before anyone reads it', async () => {
    const client = new PassThrough();
    let limited!: Readable | Uint8Array;
    const unheard = await unheardErrors(() => {
      limited = nodeBodies.limit(client, 1024, () => {});
      client.destroy(new Error('aborted'));
    });
    expect(unheard).toEqual([]);
    await expect(collect(limited)).rejects.toThrow('aborted');
  });

  it('counts a byte body by its length', async () => {
    let exceeded = false;
    const limited = nodeBodies.limit(Buffer.alloc(2048), 1024, () => (exceeded = true));
    expect(exceeded).toBe(true);
    await expect(collect(limited)).rejects.toThrow('the request body went past 1024 bytes');
  });

  it('passes the client stream failing on to the limited body', async () => {
    const client = new PassThrough();
    const limited = nodeBodies.limit(client, 100, () => {});
    client.destroy(new Error('aborted'));
    await expect(collect(limited)).rejects.toThrow('aborted');
  });
});
