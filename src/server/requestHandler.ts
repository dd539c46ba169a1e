import type { IncomingMessage, ServerResponse } from 'node:http';
import * as answers from '../core/answers.ts';
import type { CompiledConfig } from '../core/config/compileConfig.ts';
import type { ErrorLog, FailedRequest } from '../core/ErrorLog.ts';
import { admit, forwardAdmitted, isAdmitted } from '../core/proxy/admit.ts';
import { splitTarget } from '../core/proxy/splitTarget.ts';
import type { Upstream } from '../core/Upstream.ts';
import { describeError } from '../core/UpstreamError.ts';
import { RequestRecord, type RequestObserver } from '../core/observe/RequestRecord.ts';
import { clientRequestOf } from './clientRequest.ts';
import { httpsRedirect } from './httpsRedirect.ts';
import { ClientSignal, nodeBodies, sendAnswer, type NodeWire } from './nodeWire.ts';

export interface HandlerOptions {
  /** The config in use, asked for per request. */
  readonly config: () => CompiledConfig;
  readonly upstream: Upstream<NodeWire>;
  /** Told why, for every 5xx the balancer answers itself. */
  readonly errorLog: ErrorLog;
  /** Told of every request once it is answered (access log, metrics); none when nothing listens. */
  readonly observe?: RequestObserver;
  /** `redirect_https`: every request answered with 308 to this HTTPS port instead. */
  readonly redirectHttps?: { readonly port: number };
}

/**
 * Serves HTTP requests from `node:http` (on Node, and on Deno through its Node compatibility):
 * the core's `admit` and `forwardAdmitted`, the same as every runtime runs, on the server's own
 * objects. Upgrades take the same two steps in `upgradeHandler`.
 */
export function requestHandler(options: HandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const { upstream, errorLog, observe } = options;
  const fail = (response: ServerResponse, asked: FailedRequest, error: unknown, record: RequestRecord) => {
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
        record.error = 'an HTTP/1.0 request with Transfer-Encoding';
        return sendAnswer(response, refusal, undefined, record);
      }
      if (options.redirectHttps) return sendAnswer(response, httpsRedirect(clientRequestOf(request), options.redirectHttps.port, record), undefined, record);
      const admitted = admit<NodeWire>(options.config(), clientRequestOf(request), record);
      if (!isAdmitted(admitted)) return sendAnswer(response, admitted, undefined, record);
      const { exchange } = admitted;
      const unsendable = (error: unknown) => {
        record.error = `the backend's response cannot be sent: ${describeError(error)}`;
        errorLog.failed(502, exchange, record.error);
      };
      forwardAdmitted(admitted, { upstream, bodies: nodeBodies, signal: new ClientSignal(response), errorLog }).then(
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
    observe(record);
  });
}

/** A request as far as the log can tell before it was admitted: its method and path, no query. */
export function askedOf(request: IncomingMessage): FailedRequest {
  return { method: request.method ?? 'GET', path: splitTarget(request.url ?? '/').path };
}
