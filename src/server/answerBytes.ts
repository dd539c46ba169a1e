import { STATUS_CODES } from 'node:http';
import type { Answer } from '../core/Answer.ts';

/**
 * An answer as the bytes of an HTTP/1.1 response that closes its connection, for a socket that
 * has no `ServerResponse` (a refused upgrade, a request the parser rejected, a timed-out head).
 * The body must already be whole (text or bytes); a stream has no place here.
 */
export function answerBytes(answer: Answer<Uint8Array>): Buffer {
  const body = answer.body === null ? Buffer.alloc(0) : typeof answer.body === 'string' ? Buffer.from(answer.body) : Buffer.from(answer.body);
  let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n`;
  answer.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection' && name !== 'transfer-encoding') head += `${name}: ${value}\r\n`;
  });
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
