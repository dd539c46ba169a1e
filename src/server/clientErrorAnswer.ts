import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { badRequest, plainAnswer, type Answer } from '../core/responses.ts';

/**
 * The answer to a request the HTTP parser refused, as nginx gives it: 414 for a request line
 * longer than the head may be, 431 for a head too large, 408 for one not finished in time, 400
 * for anything malformed (bad chunk sizes, duplicate or conflicting lengths, stray bytes). None when
 * there is nobody to answer: the client reset the connection, or a response on it already began.
 */
export function clientErrorAnswer(error: Error & { code?: string; rawPacket?: Buffer }, socket: Socket): Answer | undefined {
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || current?.headersSent) return undefined;
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      // Still in the request line when the limit was reached: the target is what is too long.
      return error.rawPacket !== undefined && !error.rawPacket.includes(10 /* \n */)
        ? plainAnswer(414, 'URI Too Long')
        : plainAnswer(431, 'Request Header Fields Too Large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return plainAnswer(408, 'Request Timeout');
    default:
      return badRequest('the request is not valid HTTP/1.1');
  }
}
