import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import type { Answer } from '../core/Answer.ts';
import * as answers from '../core/answers.ts';

/**
 * The answer to a request the HTTP parser refused, as nginx gives it: 414 for a request line
 * longer than the head may be, 431 for a head too large, 408 for one not finished in time, 400
 * for anything malformed (bad chunk sizes, duplicate or conflicting lengths, stray bytes). None when
 * there is nobody to answer: the client reset the connection, or a response on it already began.
 */
export function clientErrorAnswer(error: Error & { code?: string; rawPacket?: Buffer }, socket: Socket, maxRequestTarget: number): Answer | undefined {
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || current?.headersSent) return undefined;
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return requestLineTooLong(error.rawPacket, maxRequestTarget) ? answers.uriTooLong() : answers.requestHeaderFieldsTooLarge();
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return answers.requestTimeout();
    default:
      return answers.badRequest('the request is not valid HTTP/1.1');
  }
}

/**
 * Whether the head overflowed in a request line longer than a request-target may be. The parser
 * hands over the bytes it was reading; only when they start the request (a method, a space, a
 * target) can its line be measured, else the overflow counts as the fields'.
 */
function requestLineTooLong(packet: Buffer | undefined, maxRequestTarget: number): boolean {
  if (packet === undefined || !/^[A-Z]+ \S/.test(packet.toString('latin1', 0, 32))) return false;
  const end = packet.indexOf(10 /* \n */);
  return end === -1 || end > maxRequestTarget;
}
