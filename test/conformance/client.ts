import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as h2Connect, constants as h2, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { WebSocket, type ClientOptions } from 'ws';

/** How the conformance client reaches a balancer: plain HTTP/1.1, HTTP/1.1 over TLS, or HTTP/2 over TLS. */
export type Transport = 'http' | 'https' | 'h2';

/** What a client needs to trust a TLS listener: the test CA and the SNI name its certificate holds. */
export interface TlsTarget {
  readonly transport: 'https' | 'h2';
  /** The test CA's certificate, PEM. */
  readonly ca: Buffer;
  /** Sent as SNI and checked against the certificate, whatever the request's Host. */
  readonly servername: string;
}

const tlsTargets = new Map<string, TlsTarget & { session?: ClientHttp2Session }>();

/**
 * Makes every function here reach `base` (an `https://` origin) over `target.transport`, so cases
 * that only know `fx.balancer.url` run unchanged over any transport.
 */
export function useTls(base: string, target: TlsTarget): void {
  tlsTargets.set(new URL(base).origin, { ...target });
}

/** Forgets `base`, closing its HTTP/2 connection if one is open. */
export async function forgetTls(base: string): Promise<void> {
  const origin = new URL(base).origin;
  const session = tlsTargets.get(origin)?.session;
  tlsTargets.delete(origin);
  if (session && !session.closed) await new Promise<void>((resolve) => session.close(resolve));
}

/** The transport `base` is reached by. */
export const transportOf = (base: string): Transport => tlsTargets.get(new URL(base).origin)?.transport ?? 'http';

/** A response as the client received it, body undecoded. */
export interface Reply {
  readonly status: number;
  /** Without HTTP/2 pseudo-headers. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The trailer fields that followed the body, if any. */
  readonly trailers: Record<string, string | string[] | undefined>;
  text(): string;
  json<T = unknown>(): T;
}

export interface SendOptions {
  readonly method?: string;
  /**
   * Sent as they are, `Host` included (Node's fetch would drop a custom Host). Over HTTP/2 `Host`
   * becomes `:authority`; a connection-specific field cannot be sent there and throws.
   */
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly timeoutMs?: number;
}

/** The head of a response whose body is still arriving. */
export interface OpenResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

/** A request whose body the caller writes, and which it may abandon. */
export interface OpenRequest {
  readonly response: Promise<OpenResponse>;
  write(chunk: Buffer | string): void;
  end(chunk?: Buffer | string): void;
  /** Goes away: closes the connection (HTTP/1.1), or resets the stream with CANCEL (HTTP/2). */
  abort(): void;
}

/**
 * Starts a request and hands back its response as soon as the head arrives. HTTP/1.1 uses a fresh
 * connection (node:http or node:https, which send the path byte for byte and let a test set `Host`);
 * HTTP/2 opens a stream on the origin's one connection. A GET or HEAD has no body; any other
 * method's body is streamed until `end()`.
 */
export function open(base: string, path: string, options: SendOptions = {}): OpenRequest {
  const opened = openExchange(base, path, options, !['GET', 'HEAD'].includes(options.method ?? 'GET'));
  // A caller that aborts does not wait for the response; its rejection is not unhandled.
  opened.response.catch(() => {});
  return opened;
}

/** Sends one request and reads the whole response; see `open` for the connection used. */
export async function send(base: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const opened = openExchange(base, path, options, options.body !== undefined);
  opened.end(options.body);
  const { status, headers, body } = await opened.response;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  // node:http keeps them on the message once it has ended; node:http2 hands them to the stream's 'trailers' listener.
  const trailers = (body as { trailers?: Reply['trailers']; receivedTrailers?: Reply['trailers'] }).receivedTrailers ?? (body as { trailers?: Reply['trailers'] }).trailers ?? {};
  return { status, headers, body: all, trailers, text: () => all.toString(), json: () => JSON.parse(all.toString()) };
}

function openExchange(base: string, path: string, options: SendOptions, hasBody: boolean): OpenRequest {
  const url = new URL(base);
  const tls = tlsTargets.get(url.origin);
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const late = new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`);
  if (tls?.transport === 'h2') {
    const stream = sessionFor(url.origin).request({ ...h2Fields(options.headers ?? {}), ':method': method, ':path': path }, { endStream: !hasBody });
    stream.setTimeout(timeoutMs, () => stream.destroy(late));
    stream.once('trailers', (fields) => Object.assign(stream, { receivedTrailers: fields }));
    return {
      response: new Promise((resolve, reject) => {
        stream.once('response', (fields) => resolve({ status: Number(fields[':status']), headers: withoutPseudoHeaders(fields), body: stream }));
        stream.once('error', reject);
        stream.once('close', () => reject(new Error(`stream closed before a response (code ${stream.rstCode})`)));
      }),
      write: (chunk) => void stream.write(chunk),
      end: (chunk) => void (hasBody && stream.end(chunk)),
      abort: () => stream.close(h2.NGHTTP2_CANCEL),
    };
  }
  const common = { host: url.hostname, port: Number(url.port), path, method, headers: options.headers, agent: false as const, timeout: timeoutMs };
  const overTls: RequestOptions & ConnectionOptions = { ...common, ca: tls?.ca, servername: tls?.servername, ALPNProtocols: ['http/1.1'] };
  const req: ClientRequest = tls ? httpsRequest(overTls) : httpRequest(common);
  req.on('timeout', () => req.destroy(late));
  return {
    response: new Promise((resolve, reject) => {
      req.once('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
      req.on('error', reject);
    }),
    write: (chunk) => void req.write(chunk),
    end: (chunk) => void req.end(chunk),
    abort: () => void req.destroy(),
  };
}

/**
 * Sends raw request bytes with `Connection: close` and returns every byte that came back until the
 * server closed the connection or stayed quiet for `quietMs` after the header block, so a test can
 * see what no HTTP client shows: whether a HEAD, 204 or 304 answer carries body bytes. Over TLS the
 * same bytes go through the TLS connection. HTTP/2 has no such bytes: there the request head's
 * fields go in one HEADERS frame, the request-target verbatim as `:path`, and the answer's head
 * reads as `curl -i` shows it (`HTTP/2 403`, then the fields), `rest` being the DATA bytes.
 */
export function sendRaw(base: string, requestHead: string, quietMs = 500, timeoutMs = 10_000): Promise<{ head: string; rest: Buffer }> {
  const url = new URL(base);
  const tls = tlsTargets.get(url.origin);
  if (tls?.transport === 'h2') return sendRawHeadOverH2(url.origin, requestHead, timeoutMs);
  return new Promise((resolve, reject) => {
    const bytes = requestHead.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '\r\nconnection: close\r\n\r\n');
    const socket: Socket = tls
      ? tlsConnect({ host: url.hostname, port: Number(url.port), ca: tls.ca, servername: tls.servername, ALPNProtocols: ['http/1.1'] }, () => socket.write(bytes))
      : connect(Number(url.port), url.hostname, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    let quiet: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split === -1) return reject(new Error(`no complete header block: ${JSON.stringify(all.toString('latin1'))}`));
      resolve({ head: all.subarray(0, split).toString('latin1'), rest: all.subarray(split + 4) });
    };
    const timer = setTimeout(() => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).includes('\r\n\r\n')) {
        clearTimeout(quiet);
        quiet = setTimeout(finish, quietMs);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      clearTimeout(quiet);
      reject(error);
    });
    socket.on('end', finish);
  });
}

async function sendRawHeadOverH2(origin: string, requestHead: string, timeoutMs: number): Promise<{ head: string; rest: Buffer }> {
  const [requestLine, ...lines] = requestHead.split(/\r?\n/).filter((line) => line !== '');
  const [method, target] = requestLine.split(' ');
  const fields = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
  const { status, headers, body } = await openExchange(origin, target, { method, headers: fields, timeoutMs }, false).response;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const head = [`HTTP/2 ${status}`, ...Object.entries(headers).flatMap(([name, value]) => [value ?? []].flat().map((each) => `${name}: ${each}`))].join('\r\n');
  return { head, rest: Buffer.concat(chunks) };
}

/**
 * Opens a WebSocket to `base` (`wss://` over TLS, with the test CA). WebSockets are HTTP/1.1
 * upgrades (RFC 8441's extended CONNECT is not served), so an HTTP/2 target is refused.
 */
export function openWebSocket(base: string, path: string, headers: Record<string, string> = {}): WebSocket {
  const url = new URL(base);
  const tls = tlsTargets.get(url.origin);
  if (tls?.transport === 'h2') throw new Error('a WebSocket is an HTTP/1.1 upgrade: not expressible in HTTP/2');
  if (!tls) return new WebSocket(`ws://${url.host}${path}`, { headers });
  const options: ClientOptions & ConnectionOptions = { headers, ca: tls.ca, servername: tls.servername };
  return new WebSocket(`wss://${url.host}${path}`, options);
}

/** RFC 9113 section 8.2.2: an HTTP/2 message must not carry these; TE only as `trailers`. */
const CONNECTION_SPECIFIC = ['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade'];

function h2Fields(headers: Record<string, string>): OutgoingHttpHeaders {
  const fields: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (CONNECTION_SPECIFIC.includes(lower) || (lower === 'te' && value.trim().toLowerCase() !== 'trailers')) {
      throw new Error(`${name} is a connection-specific field, which HTTP/2 forbids (RFC 9113 section 8.2.2): an HTTP/1.1 framing case`);
    }
    fields[lower === 'host' ? ':authority' : lower] = value;
  }
  return fields;
}

function withoutPseudoHeaders(fields: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => !name.startsWith(':')));
}

/** The origin's one HTTP/2 connection, opened again if the last one closed. */
function sessionFor(origin: string): ClientHttp2Session {
  const target = tlsTargets.get(origin)!;
  if (target.session && !target.session.closed && !target.session.destroyed) return target.session;
  const session = h2Connect(origin, { ca: target.ca, servername: target.servername });
  // A connection error reaches every open stream as its own error; the next request reconnects.
  session.on('error', () => {});
  target.session = session;
  return session;
}
