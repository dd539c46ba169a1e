import { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { pipeline, Readable, Transform, type Duplex } from 'node:stream';
import { FieldList } from '../core/http/FieldList.ts';
import type { HeaderFields } from '../core/http/HeaderFields.ts';
import type { Answer } from '../core/Answer.ts';
import * as answers from '../core/answers.ts';
import type { Background, BodyHandling, Wire } from '../core/Upstream.ts';
import type { RequestRecord } from '../core/observe/RequestRecord.ts';
import { classifyBodyError } from '../upstream/upstreamErrors.ts';
import { nodeCompression } from './nodeCompression.ts';

/**
 * Node's wire: bodies are Node streams (the client's IncomingMessage going up, undici's response
 * stream coming back) or bytes read ahead for a retry, and the client's departure is told by a
 * plain emitter that undici accepts as a signal. Per request this saves the web stream, the
 * `AbortController` and the `Request`/`Response` a web wire needs (docs/performance.md).
 */
export interface NodeWire extends Wire {
  readonly body: Readable | Uint8Array;
  /** Fires `abort` when the client goes away (a `ClientSignal`). */
  readonly signal: EventEmitter & { readonly aborted: boolean };
}

/** The signal of an exchange no client waits on (a mirrored copy): it never fires. */
class DetachedSignal extends EventEmitter {
  readonly aborted = false;
}

/** Work that outlives the response, on node:http: it simply runs, the process being there anyway. */
export const NODE_BACKGROUND: Background<NodeWire> = {
  detachedSignal: () => new DetachedSignal(),
  run: () => {},
};

/**
 * Emits `abort`, once, when the client's side closes before it was finished: its response, or
 * for an upgrade, its socket.
 */
export class ClientSignal extends EventEmitter {
  #aborted = false;
  readonly #socket: Duplex | null;

  constructor(side: ServerResponse | Duplex) {
    super();
    this.#socket = 'req' in side ? side.socket : side;
    side.once('close', () => {
      // Ended by us and flushed: complete. (An HTTP/2 stream the client reset reports
      // writableFinished, but was never ended.)
      if (this.#aborted || (side.writableEnded && side.writableFinished)) return;
      this.#aborted = true;
      this.emit('abort');
    });
  }

  /**
   * Whether the client has gone. Its connection's end is read too: Deno's node:http fails the
   * request's body before it closes the response, and a body that failed because the client left
   * must never be taken for the backend's failure. (The request's own `aborted` event would not
   * do: it also fires when the upstream client stops reading a body the backend did not want.)
   */
  get aborted(): boolean {
    return this.#aborted || (this.#socket?.destroyed ?? false);
  }
}

export const nodeBodies: BodyHandling<NodeWire> = {
  async readAhead(body, limit) {
    if (!(body instanceof Readable)) return { replay: () => body, replayable: true };
    // Not destroyed when the loop stops early: the rest of an overlong body is still to be sent.
    const chunks = body.iterator({ destroyOnReturn: false });
    const head: Buffer[] = [];
    let size = 0;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      head.push(next.value);
      size += next.value.length;
      if (size > limit) return { replay: () => Readable.from(concatWithRest(head, chunks)), replayable: false };
    }
    const bytes = head.length === 1 ? head[0] : Buffer.concat(head, size);
    return { replay: () => bytes, replayable: true };
  },

  track(body, done, onError) {
    if (!(body instanceof Readable) || body.closed) {
      done();
      return body;
    }
    // 'close' comes last whichever way the body ends: delivered, failed, or destroyed because the
    // client went away.
    body.once('error', (error) => onError(classifyBodyError(error)));
    body.once('close', done);
    return body;
  },

  discard(body) {
    if (!(body instanceof Readable)) return;
    // A body destroyed before its end reports an error, which must have a listener.
    body.on('error', () => {});
    body.destroy();
  },

  compression: nodeCompression,
  limit(body, bytes, exceeded) {
    if (!(body instanceof Readable)) {
      if (body.length <= bytes) return body;
      exceeded();
      return new Readable({ read() { this.destroy(new BodyOverLimit(bytes)); } });
    }
    let seen = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        if (seen <= bytes) return callback(null, chunk);
        exceeded();
        // The client's stream is left whole, its connection able to carry the 413; what it still
        // sends is read and dropped until the answer closes the connection.
        body.unpipe(counted);
        body.resume();
        callback(new BodyOverLimit(bytes));
      },
    });
    // The limited body fails once (past the limit, or the client's upload breaking off), maybe
    // before the upstream client has taken it (still connecting, or never, the backend down) or
    // after it let go: an error nobody hears would end the process. Its reader hears it too;
    // `forward` reads `exceeded` whatever the reader did.
    counted.on('error', () => {});
    body.once('error', (error) => counted.destroy(error));
    return body.pipe(counted);
  },
};

/** Why a request body stopped: it went past `max_request_body`. */
class BodyOverLimit extends Error {
  override name = 'BodyOverLimit';
  constructor(bytes: number) {
    super(`the request body went past ${bytes} bytes`);
  }
}

async function* concatWithRest(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

/** Fields a trailer section may not carry (RFC 9110 section 6.5.1): framing, routing and the connection's own. */
const NOT_TRAILERS = new Set([...CONNECTION_SPECIFIC, 'te', 'trailer', 'content-length', 'content-type', 'content-encoding', 'host', 'set-cookie']);

/**
 * Writes an answer to the client. Bytes (a body that had fully arrived, the common small response)
 * go out with the headers in one write; a stream is piped with backpressure, and a source that
 * fails cuts the client's response off rather than ending it as if complete. The backend's
 * trailers follow the body: always on HTTP/2, on HTTP/1.1 when the client sent `TE: trailers` and
 * the body is chunked (RFC 9110 section 6.5.1). On HTTP/2 an answer without a body is one HEADERS
 * frame that ends the stream, as a gRPC error sent trailers-only must be (gRPC over HTTP/2).
 * @param unsendable told why an answer whose fields Node refuses (a backend's, not valid HTTP) became a 502
 */
export function sendAnswer(response: ServerResponse, answer: Answer<NodeWire['body']>, unsendable?: (error: unknown) => void, record?: RequestRecord): void {
  const { body } = answer;
  const http2 = response.req.httpVersionMajor === 2;
  try {
    const fields = answer.headers instanceof FieldList ? answer.headers : FieldList.copyOf(answer.headers);
    // HTTP/2 forbids connection-specific fields (RFC 9113 section 8.2.2): the framing is its own.
    if (http2) for (const name of CONNECTION_SPECIFIC) fields.delete(name);
    if (http2 && body === null && response.req.method !== 'HEAD') return void endStreamWithHeaders(response as unknown as Http2ServerResponse, answer.status, fields);
    response.writeHead(answer.status, fields.flat);
  } catch (error) {
    // A field Node refuses to send (a backend's header that is not valid HTTP): the answer is unusable.
    if (body instanceof Readable) nodeBodies.discard(body);
    if (response.headersSent) return;
    unsendable?.(error);
    const refusal = answers.badGateway();
    if (record) record.bytesSent = Buffer.byteLength(refusal.body);
    response.writeHead(refusal.status, refusal.headers.flat).end(refusal.body);
    return;
  }
  if (!(body instanceof Readable)) {
    // A HEAD's answer or a 304 carries no body, whatever the backend's bytes (node:http drops them).
    if (record && body && response.statusCode !== 304 && response.req.method !== 'HEAD') record.bytesSent = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (answer.trailers) addTrailers(response, answer.trailers());
    return void response.end(body ?? undefined);
  }
  if (record) body.on('data', (chunk: Buffer) => void (record.bytesSent += chunk.length));
  const { trailers } = answer;
  // Before the pipeline's own listener, which ends the response: the trailers are known by then.
  if (trailers) body.once('end', () => addTrailers(response, trailers()));
  pipeline(body, response, () => {});
}

/** Sets the trailers sent when the response ends, where the client takes them; a field Node refuses is left out. */
function addTrailers(response: ServerResponse, trailers: HeaderFields | undefined): void {
  if (!trailers) return;
  if (response.req.httpVersionMajor !== 2 && !/(?:^|,)\s*trailers\s*(?:[;,]|$)/i.test(String(response.req.headers.te ?? ''))) return;
  const sent: OutgoingHttpHeaders = {};
  trailers.forEach((value, name) => {
    if (NOT_TRAILERS.has(name) || name.startsWith(':')) return;
    const before = sent[name];
    sent[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [String(before)]), value];
  });
  try {
    response.addTrailers(sent);
  } catch {
    for (const [name, value] of Object.entries(sent)) {
      try {
        response.addTrailers({ [name]: value });
      } catch {
        // Not valid HTTP: not sent.
      }
    }
  }
}

/**
 * Answers an HTTP/2 request with one HEADERS frame carrying END_STREAM. Node's compatibility
 * response would send the headers and then an empty DATA frame, which gRPC clients read as a call
 * without a status.
 */
function endStreamWithHeaders(response: Http2ServerResponse, status: number, fields: FieldList): void {
  // The client reset the stream meanwhile (a gRPC deadline passing as the backend answers it): nobody to answer.
  if (response.stream.destroyed) return;
  const headers: OutgoingHttpHeaders = { ':status': status };
  fields.forEach((value, name) => {
    const before = headers[name];
    headers[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [String(before)]), value];
  });
  response.statusCode = status;
  response.stream.respond(headers, { endStream: true });
  response.end();
}
