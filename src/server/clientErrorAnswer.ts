import type { Socket } from 'node:net';
import type { Answer } from '../core/Answer.ts';
import * as answers from '../core/answers.ts';
import { FieldList } from '../core/http/FieldList.ts';
import { RequestRecord, type RequestObserver } from '../core/observe/RequestRecord.ts';
import { causeOf } from '../core/proxy/admit.ts';
import { splitTarget } from '../core/proxy/splitTarget.ts';
import { requestIdFrom } from '../core/rules/requestId.ts';
import { answerBytes } from './answerBytes.ts';
import { afterPendingResponse, closeSoon, currentResponse } from './socketEnd.ts';

/**
 * The answer to a request the HTTP parser refused, as nginx gives it: 414 for a request-target
 * longer than max_request_target, 431 for a head too large otherwise, 408 for one not finished in time, 400
 * for anything malformed (bad chunk sizes, duplicate or conflicting lengths, stray bytes). None when
 * there is nobody to answer: the client reset the connection, or a response on it is still owed.
 */
export function clientErrorAnswer(error: Error & { code?: string; rawPacket?: Buffer }, socket: Socket, maxRequestTarget: number): Answer | undefined {
  // The request being answered failed in its own body once its response began: nothing to say.
  const current = currentResponse(socket);
  if (error.code === 'ECONNRESET' || !socket.writable || (current?.headersSent && !current.req?.complete)) return undefined;
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
 * Whether the head overflowed in a request-target longer than it may be. The parser hands over
 * the bytes it was reading; only when they start the request (a method, a space, a target) can the
 * target be measured, else the overflow counts as the fields'.
 */
function requestLineTooLong(packet: Buffer | undefined, maxRequestTarget: number): boolean {
  if (packet === undefined || !/^[A-Z]+ \S/.test(packet.toString('latin1', 0, 32))) return false;
  const start = packet.indexOf(32 /* space */) + 1;
  const lineEnd = packet.indexOf(10 /* \n */);
  const space = packet.indexOf(32, start);
  const end = space !== -1 && (lineEnd === -1 || space < lineEnd) ? space : lineEnd === -1 ? packet.length : lineEnd;
  return end - start > maxRequestTarget;
}

/**
 * Answers a request the parser refused and closes the connection. A response still owed for a
 * request the client pipelined before it goes out first; the one whose own body broke is cut
 * short by the answer.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: Buffer }, socket: Socket, maxRequestTarget: number, observe?: RequestObserver): void {
  const answer = clientErrorAnswer(error, socket, maxRequestTarget);
  if (!answer) return void socket.destroy();
  const record = observe && refusedRecord(error.rawPacket, socket, maxRequestTarget, answer);
  if (record) answer.headers.set('x-request-id', record.requestId);
  const current = currentResponse(socket);
  const owed = current?.req?.complete ? afterPendingResponse(socket) : Promise.resolve();
  void owed.then(() => {
    if (!socket.writable) return void socket.destroy();
    const bytes = answerBytes(answer);
    closeSoon(socket, bytes);
    if (!record || !observe) return;
    record.bytesSent = typeof answer.body === 'string' ? Buffer.byteLength(answer.body) : 0;
    record.finish(answer.status);
    observe(record);
  });
}

/**
 * The access log's record of a request the parser refused: its method and target where the bytes
 * read start with a request line (the target cut at max_request_target, so a 414's line costs no
 * more than an admitted request's), the peer, a new request id, and why.
 */
function refusedRecord(packet: Buffer | undefined, socket: Socket, maxRequestTarget: number, answer: Answer): RequestRecord {
  const record = new RequestRecord();
  record.client = socket.remoteAddress;
  record.requestId = requestIdFrom(new FieldList());
  const line = packet === undefined ? undefined : /^([A-Z]{1,20}) (\S+)/.exec(packet.toString('latin1', 0, Math.min(packet.length, maxRequestTarget + 32)));
  if (line) {
    record.method = line[1];
    const target = splitTarget(line[2].slice(0, maxRequestTarget));
    record.path = target.path;
    record.query = target.query;
  }
  record.error = causeOf(answer);
  return record;
}
