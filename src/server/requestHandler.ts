import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as http2Constants, type Http2Stream } from 'node:http2';
import * as answers from '../core/answers.ts';
import type { CompiledConfig } from '../core/config/compileConfig.ts';
import type { ErrorLog, FailedRequest } from '../core/ErrorLog.ts';
import { admit, forwardAdmitted, isAdmitted } from '../core/proxy/admit.ts';
import { splitTarget } from '../core/proxy/splitTarget.ts';
import type { Upstream } from '../core/Upstream.ts';
import { describeError } from '../core/UpstreamError.ts';
import { RequestRecord, type RequestObserver } from '../core/observe/RequestRecord.ts';
import { FieldList } from '../core/http/FieldList.ts';
import { requestIdFrom } from '../core/rules/requestId.ts';
import { clientRequestOf } from './clientRequest.ts';
import { httpsRedirect } from './httpsRedirect.ts';
import type { Http01Answers } from '../acme/Http01Answers.ts';
import { ClientSignal, NODE_BACKGROUND, nodeBodies, sendAnswer, type NodeWire } from './nodeWire.ts';

export interface HandlerOptions {
  /** The config in use, asked for per request. */
  readonly config: () => CompiledConfig;
  readonly upstream: Upstream<NodeWire>;
  /** Told why, for every 5xx the balancer answers itself. */
  readonly errorLog: ErrorLog;
  /** Told of every request once it is answered (access log, metrics); none when nothing listens. */
  readonly observe?: RequestObserver;
  /**
   * `redirect_https`: every request answered with 308 to this HTTPS port instead, or 503 for a host
   * whose certificate `tls.acme` is still obtaining.
   */
  readonly redirectHttps?: { readonly port: number; readonly certificatePending?: (host: string) => boolean };
  /** `tls.acme`'s HTTP-01 answers, given before any route, redirect or firewall (plain listeners). */
  readonly acmeChallenges?: Http01Answers;
}

/**
 * Serves HTTP requests from `node:http` (on Node, and on Deno through its Node compatibility):
 * the core's `admit` and `forwardAdmitted`, the same as every runtime runs, on the server's own
 * objects. Upgrades take the same two steps in `upgradeHandler`.
 */
export function requestHandler(options: HandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const { upstream, errorLog, observe } = options;
  const fail = (response: ServerResponse, asked: FailedRequest, error: unknown, record: RequestRecord) => {
    if (record.method === '') arrived(record, response.req);
    record.error = `internal error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    errorLog.internalError(asked, error);
    if (!response.headersSent) sendAnswer(response, answers.internalServerError());
    else response.destroy();
  };

  return (request, response) => {
    const record = new RequestRecord();
    if (observe) observeResponse(response, record, observe);
    try {
      // HTTP/1.0 has no transfer codings: such a message's framing is faulty (RFC 9112 section 6.1).
      if (request.httpVersionMinor === 0 && request.headers['transfer-encoding'] !== undefined) {
        const refusal = answers.badRequest('an HTTP/1.0 request with Transfer-Encoding');
        refusal.headers.set('connection', 'close');
        arrived(record, request);
        refusal.headers.set('x-request-id', record.requestId);
        record.error = 'an HTTP/1.0 request with Transfer-Encoding';
        return sendAnswer(response, refusal, undefined, record);
      }
      const challenge = options.acmeChallenges?.answer(splitTarget(request.url ?? '/').path, request.socket.remoteAddress);
      if (challenge) {
        arrived(record, request);
        return void challenge.then((answer) => sendAnswer(response, answer, undefined, record), (error) => fail(response, askedOf(request), error, record));
      }
      if (options.redirectHttps) return sendAnswer(response, httpsRedirect(clientRequestOf(request), options.redirectHttps, record), undefined, record);
      const client = clientRequestOf(request);
      if (client.body !== null && request.httpVersionMajor === 2) watchHttp2Body(request, response, options.config().server.clientBody, record);
      const admitted = admit<NodeWire>(options.config(), client, record);
      if (!isAdmitted(admitted)) return sendAnswer(response, admitted, undefined, record);
      const { exchange } = admitted;
      const unsendable = (error: unknown) => {
        record.error = `the backend's response cannot be sent: ${describeError(error)}`;
        errorLog.failed(502, exchange, record.error);
      };
      forwardAdmitted(admitted, { upstream, bodies: nodeBodies, signal: new ClientSignal(response), errorLog, background: NODE_BACKGROUND }).then(
        (answer) => sendAnswer(response, answer, unsendable, record),
        (error) => fail(response, exchange, error, record),
      );
    } catch (error) {
      fail(response, askedOf(request), error, record);
    }
  };
}

/**
 * Tells `observe` of the request once its response is done: sent in full, cut off, or never sent
 * because the client went away first (status 499, as nginx logs it).
 */
function observeResponse(response: ServerResponse, record: RequestRecord, observe: RequestObserver): void {
  response.once('close', () => {
    // Complete only if ended by us and flushed: an HTTP/2 stream the client reset reports writableFinished too.
    if (!(response.writableEnded && response.writableFinished)) record.error ??= response.headersSent ? 'the response was cut off before its end' : 'the client went away';
    record.finish(response.headersSent ? response.statusCode : 499);
    // A try still unanswered when the client left is the client's doing, not the backend's.
    if (!response.headersSent) for (const attempt of record.attempts) if (attempt.status === undefined) attempt.clientGone = true;
    observe(record);
  });
}

/**
 * `client_body` on HTTP/2, where the connection guard does not look (a connection carries many
 * streams): a request body that pauses longer is answered 408, if nothing has been answered yet,
 * and its stream reset, which ends the upload to the backend as well.
 */
function watchHttp2Body(request: IncomingMessage, response: ServerResponse, clientBody: number, record: RequestRecord): void {
  const stream = (request as IncomingMessage & { stream: Http2Stream }).stream;
  stream.setTimeout(clientBody, () => {
    record.error = `the request body paused longer than client_body (${clientBody} ms)`;
    const reset = () => stream.close(http2Constants.NGHTTP2_CANCEL);
    if (response.headersSent) return reset();
    stream.once('finish', reset);
    sendAnswer(response, answers.requestTimeout(), undefined, record);
  });
  request.once('end', () => stream.setTimeout(0));
}

/** What the log knows of a request the balancer answers before `admit` looks at it. */
function arrived(record: RequestRecord, request: IncomingMessage): void {
  record.method = request.method ?? '';
  const target = splitTarget(request.url ?? '/');
  record.path = target.path;
  record.query = target.query;
  record.host = request.headers.host;
  record.client = request.socket.remoteAddress;
  record.requestId ||= requestIdFrom(FieldList.fromRaw(request.rawHeaders));
}

/** A request as far as the log can tell before it was admitted: its method and path, no query. */
export function askedOf(request: IncomingMessage): FailedRequest {
  return { method: request.method ?? 'GET', path: splitTarget(request.url ?? '/').path };
}
