import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import { ContinueFilter } from './ContinueFilter.ts';

type Write = (data: unknown, encoding?: unknown, callback?: unknown) => boolean;

/**
 * undici's own connector, with every connection's responses read through a `ContinueFilter`: an
 * unsolicited `100 Continue` is dropped instead of failing the exchange (and the backend's health).
 * Only for a dispatcher with `pipelining: 1` (undici's default), where a response starts after the
 * one request head sent since the last response.
 * @param options as for undici's `buildConnector`, the connect timeout among them
 */
export function connectDroppingContinue(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (target, callback) =>
    connect(target, (...result) => {
      if (result[1]) filterResponses(result[1]);
      callback(...result);
    });
}

/**
 * Puts the filter between the socket and undici, which reads a connection only through `read()`.
 * Responses start after request heads: with `pipelining: 1` undici sends one request at a time on a
 * connection, and it writes each head as one latin-1 string and a body only as bytes or as chunk framing that starts with
 * CRLF (client-h1.js, `writeH1`). Body writes therefore never restart the filter, even when the
 * response arrives while the body is still going out.
 */
function filterResponses(socket: Socket): void {
  const filter = new ContinueFilter();
  const read = socket.read;
  const write = socket.write as Write;
  (socket as { write: Write }).write = function (this: Socket, data, encoding, callback) {
    if (encoding === 'latin1' && typeof data === 'string' && data.charCodeAt(0) !== 13) filter.expectResponse();
    return write.call(this, data, encoding, callback);
  };
  socket.read = function (this: Socket, size?: number) {
    for (;;) {
      const chunk: Buffer | null = read.call(this, size);
      if (chunk === null) return null;
      const kept = filter.take(chunk);
      if (kept) return kept;
    }
  };
}
