import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { FieldList } from '../core/http/FieldList.ts';
import type { Upstream, UpstreamResponse, UpstreamTls } from '../core/Upstream.ts';
import { readBackendTls } from '../upstream/backendTls.ts';
import { UpstreamError } from '../core/UpstreamError.ts';
import { classifyUpstreamError } from '../upstream/upstreamErrors.ts';
import type { NodeWire } from './nodeWire.ts';

/**
 * The pool's `tls` for the tunnel's connection, as requests get it (src/upstream/UpstreamAgents.ts):
 * its CA, client certificate and verification, and the configured name checked and sent as SNI;
 * an address is never sent as a server name (RFC 6066 section 3), and Node then checks the
 * certificate against the address.
 */
function tlsOptions(tls: UpstreamTls | undefined, host: string): ConnectionOptions {
  const servername = tls?.servername ?? host;
  if (!tls) return isIP(servername) ? {} : { servername };
  return { ...readBackendTls(tls), rejectUnauthorized: tls.verify, ...(isIP(servername) ? {} : { servername }) };
}

/** The most a backend's answer to the handshake may hold before its blank line. */
const MAX_HANDSHAKE_HEAD = 16 * 1024;

/**
 * The upstream client for WebSocket upgrades on `node:http` (Node and Deno): it does what nginx
 * does, opening a connection of its own to the backend and sending the (rewritten) upgrade request
 * on it. A `101 Switching Protocols` resolves with the backend's socket as the body, anything it
 * sent past the handshake put back in front, for the server to join to the client's; any other
 * answer resolves with its status and fields and no body (the connection is closed: a backend that
 * declines must not leave the client holding a raw connection past the firewall). Failures reject
 * as `UpstreamError`s, so the forward loop retries and records them like any other request's.
 */
export const tunnelUpstream: Upstream<NodeWire> = (request) =>
  new Promise<UpstreamResponse<NodeWire>>((resolve, reject) => {
    const url = new URL(request.origin);
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let backend: Socket;
    try {
      backend = secure ? connectTls({ host, port, ...tlsOptions(request.tls, host) }) : connectTcp({ host, port });
    } catch (error) {
      return reject(classifyUpstreamError(error));
    }
    let settled = false;
    const fail = (error: UpstreamError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal.off('abort', abandon);
      backend.destroy();
      reject(error);
    };
    const abandon = () => fail(new UpstreamError('failed', 'the client went away'));
    let timer = setTimeout(() => fail(new UpstreamError('timeout', `no connection within ${request.timeouts.connect} ms`)), request.timeouts.connect);
    request.signal.once('abort', abandon);
    backend.on('error', (error) => fail(classifyUpstreamError(error)));
    backend.once('close', () => fail(new UpstreamError('failed', 'the backend closed the connection during the handshake')));

    backend.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new UpstreamError('timeout', `no handshake answer within ${request.timeouts.responseHeaders} ms`)), request.timeouts.responseHeaders);
      let head = `${request.method} ${request.target} HTTP/1.1\r\n`;
      if (!request.headers.has('host')) head += `host: ${url.host}\r\n`;
      request.headers.forEach((value, name) => (head += `${name}: ${value}\r\n`));
      backend.write(`${head}\r\n`, 'latin1');
      readHandshake(backend, (answer) => {
        if (settled) return;
        if (!answer) return fail(new UpstreamError('failed', 'the backend did not answer the handshake with HTTP'));
        settled = true;
        clearTimeout(timer);
        request.signal.off('abort', abandon);
        backend.removeAllListeners('close');
        if (answer.status !== 101) {
          // A refusal's body (a login page, an error text) reaches the client as nginx relays it,
          // when it is short and says how long it is; the connection then closes.
          return readDeclineBody(backend, answer, request.timeouts.responseHeaders, (body) => {
            backend.destroy();
            resolve({ status: answer.status, headers: answer.headers, body });
          });
        }
        if (answer.rest.length > 0) backend.unshift(answer.rest);
        resolve({ status: 101, headers: answer.headers, body: backend });
      });
    });
  });

interface Handshake {
  readonly status: number;
  readonly headers: FieldList;
  /** Bytes the backend sent after the blank line: the tunnel's first. */
  readonly rest: Buffer;
}

/** Reads the backend's answer up to its blank line; `undefined` when it is not HTTP or too long. */
function readHandshake(backend: Socket, done: (answer: Handshake | undefined) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end === -1 && buffered.length <= MAX_HANDSHAKE_HEAD) return;
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(buffered.toString('latin1', 0, 16));
    // An informational answer before the final one (103 Early Hints, say) is not the handshake's.
    if (end !== -1 && status && status[1] !== '101' && status[1].startsWith('1')) {
      buffered = buffered.subarray(end + 4);
      return buffered.length > 0 ? onData(Buffer.alloc(0)) : undefined;
    }
    backend.off('data', onData);
    backend.pause();
    if (end === -1 || !status) return done(undefined);
    const fields: string[] = [];
    for (const line of buffered.toString('latin1', 0, end).split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.push(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    done({ status: Number(status[1]), headers: new FieldList(fields), rest: buffered.subarray(end + 4) });
  };
  backend.on('data', onData);
}

/** The most of a declined handshake's body that is relayed. */
const MAX_DECLINE_BODY = 64 * 1024;

/** Reads a declined handshake's body when its length is given and small; else none. */
function readDeclineBody(backend: Socket, answer: Handshake, timeoutMs: number, done: (body: Uint8Array | null) => void): void {
  const length = Number(answer.headers.get('content-length') ?? NaN);
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_DECLINE_BODY) return done(null);
  let body: Buffer = answer.rest;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    backend.off('data', onData);
    done(body.length >= length ? body.subarray(0, length) : null);
  };
  const onData = (chunk: Buffer) => {
    body = Buffer.concat([body, chunk]);
    if (body.length >= length) finish();
  };
  const timer = setTimeout(finish, timeoutMs);
  if (body.length >= length) return finish();
  backend.on('data', onData);
  backend.once('close', finish);
  backend.resume();
}
