import type { ErrorLog } from '../ErrorLog.ts';
import type { Backend } from '../pool/Backend.ts';
import type { Pool } from '../pool/Pool.ts';
import type { Answer } from '../Answer.ts';
import * as answers from '../answers.ts';
import { mayRetry } from '../retry/RetrySettings.ts';
import type { Exchange, OutgoingRequest } from '../Route.ts';
import { toAnswer } from './toAnswer.ts';
import type { Background, BodyHandling, Upstream, UpstreamResponse, WebWire, Wire } from '../Upstream.ts';
import { UpstreamError, upstreamErrorOf } from '../UpstreamError.ts';
import { RequestRecord, type Attempt } from '../observe/RequestRecord.ts';

/** How a runtime forwards: its upstream client, its bodies, its word for a client gone, and where failures are told. */
export interface Transport<W extends Wire = WebWire> {
  readonly upstream: Upstream<W>;
  /** A plain HTTP client where `upstream` is not one (a WebSocket tunnel): `forward_auth` asks its service with it. @default upstream */
  readonly subrequest?: Upstream<W>;
  readonly bodies: BodyHandling<W>;
  /** Tells when the client goes away. */
  readonly signal: W['signal'];
  /** Told why, for every 5xx the balancer answers itself. */
  readonly errorLog: ErrorLog;
  /** Where work that outlives the exchange runs (mirrored copies); none, and nothing is mirrored (upgrades). */
  readonly background?: Background<W>;
}

/**
 * Sends the request to a backend of `pool` (the route's, or the side of its split this request
 * drew) and returns the client's answer: the backend is picked by the pool from the client's
 * request, with the route's timeouts. A
 * failed attempt is retried on another backend when the pool's retry rules allow it (README:
 * Retries). Answers 503 naming the route when no backend is healthy (or none could be connected
 * to), 502 when the backend fails, 504 when it times out, each logged with its cause.
 */
export async function forward<W extends Wire>(exchange: Exchange, pool: Pool, outgoing: OutgoingRequest<W>, transport: Transport<W>, record = new RequestRecord()): Promise<Answer<W['body']>> {
  const { timeouts } = exchange.route;
  const failed = (answer: Answer, cause: string) => {
    record.error = cause;
    transport.errorLog.failed(answer.status, exchange, cause);
    return answer;
  };
  const unavailable = () => answers.serviceUnavailable(exchange.route.name);
  const tried = new Set<Backend>();
  let backend = pool.pick(exchange);
  if (!backend) return failed(unavailable(), noneUp(pool.members.length));
  pool.retryBudget.recordRequest();

  const retries = pool.retries;
  const { mirror } = exchange.route;
  const { background } = transport;
  const mirrored = mirror !== undefined && background !== undefined && mirror.chooses();
  let body: { replay(): W['body'] | null; readonly replayable: boolean } = { replay: () => outgoing.body, replayable: true };
  // Only a body that declares a small length is read ahead (as nginx reads request bodies before
  // forwarding): a chunked upload of unknown length streams at once, and is never replayed.
  const declaredLength = Number(outgoing.headers.get('content-length') ?? NaN);
  if (outgoing.body && (retries.attempts > 0 || mirrored) && declaredLength <= retries.maxBufferedBody) {
    try {
      body = await transport.bodies.readAhead(outgoing.body, retries.maxBufferedBody);
    } catch {
      if (outgoing.bodyLimit?.exceeded) return bodyTooLarge(outgoing.bodyLimit.bytes, record);
      // The client's upload broke off (or it went away) before the body was read.
      record.error = 'the request body could not be read';
      return answers.badRequest(record.error);
    }
  } else if (outgoing.body) {
    body = { replay: () => outgoing.body, replayable: false };
  }

  // A copy goes only with a body that could be kept to send twice: up to max_buffered_body.
  if (mirrored && body.replayable) {
    const copy = { ...outgoing, body: body.replay(), bodyBytes: outgoing.body === null ? 0 : declaredLength, timeouts: exchange.route.timeouts };
    mirror.send(exchange, copy, { upstream: transport.upstream, bodies: transport.bodies, background });
  }

  let lastError!: UpstreamError;
  let everyFailureWasConnect = true;
  for (let attempt = 0; ; attempt++) {
    // Cut off at max_request_body before this try could send it (a first chunk over the limit, or
    // past it while the last try failed): nothing is left to send, and the client is told why.
    if (outgoing.bodyLimit?.exceeded) return bodyTooLarge(outgoing.bodyLimit.bytes, record);
    tried.add(backend);
    backend.inFlight++;
    // Recorded as it is sent: a client that leaves meanwhile is logged with the backend it waited on.
    const tryRecord: Attempt = { backend, status: undefined };
    record.attempts.push(tryRecord);
    let response: UpstreamResponse<W>;
    try {
      response = await transport.upstream({
        origin: backend.origin,
        target: backend.basePath + outgoing.path + outgoing.query,
        method: outgoing.method,
        headers: outgoing.headers,
        body: body.replay(),
        signal: transport.signal,
        timeouts,
        tls: backend.tls,
        protocol: backend.protocol,
      });
    } catch (caught) {
      backend.inFlight--;
      const error = upstreamErrorOf(caught);
      // The upload was cut off at max_request_body: the client's doing, not the backend's.
      if (outgoing.bodyLimit?.exceeded) return bodyTooLarge(outgoing.bodyLimit.bytes, record);
      // A client that went away is not the backend's fault, and wants no retry (nor a log line:
      // nobody is there to be answered).
      if (transport.signal.aborted) {
        tryRecord.clientGone = true;
        record.error = 'the client went away';
        return answers.badGateway();
      }
      backend.health.recordFailure(`${outgoing.method} ${outgoing.path} -> ${describeFailure(error)}`);
      lastError = error;
      everyFailureWasConnect &&= error.failure === 'connect';
      const retryable = body.replayable && attempt < retries.attempts && mayRetry(error, outgoing.method, retries);
      if (!retryable) break;
      const next = pool.pick(exchange, tried);
      if (!next || !pool.retryBudget.tryRetry()) break;
      backend = next;
      continue;
    }
    tryRecord.status = response.status;
    // workerd's fetch ends an upload whose body stream failed as if complete: the backend's answer
    // is to a cut-off body, and the client is told why instead.
    if (outgoing.bodyLimit?.exceeded) {
      backend.inFlight--;
      if (response.body !== null) transport.bodies.discard(response.body);
      return bodyTooLarge(outgoing.bodyLimit.bytes, record);
    }
    // Outside the try: a fault in turning the answer into the client's is ours, not the backend's.
    return respond(exchange, pool, backend, outgoing, transport, response);
  }
  const cause = `backend ${backend.id}: ${lastError.message.split('\n')[0]}${tried.size > 1 ? ` (${tried.size} backends tried)` : ''}`;
  // Nothing could even be connected to: every backend is down, whatever health checks believed.
  if (everyFailureWasConnect && !pool.hasCandidates(tried)) return failed(unavailable(), `no backend could be connected to: ${cause}`);
  if (lastError.failure === 'timeout') return failed(answers.gatewayTimeout(), cause);
  return failed(answers.badGateway(), cause);
}

function bodyTooLarge(bytes: number, record: RequestRecord): Answer {
  record.refusedBy = 'max_request_body';
  record.error = `max_request_body: the body went past ${bytes} bytes as it streamed`;
  return answers.contentTooLarge(record.error);
}

function noneUp(count: number): string {
  return count === 1 ? 'no healthy backend: its one backend is down by health checks' : `no healthy backend: all ${count} backends are down by health checks`;
}

/** Turns the backend's answer into the client's, and keeps the backend counted in flight until the body is done. */
function respond<W extends Wire>(exchange: Exchange, pool: Pool, backend: Backend, outgoing: OutgoingRequest<W>, transport: Transport<W>, upstream: UpstreamResponse<W>): Answer<W['body']> {
  const passive = backend.health.passive;
  if (passive?.statuses.has(upstream.status)) backend.health.recordFailure(`${outgoing.method} ${outgoing.path} -> ${upstream.status}`);
  else backend.health.recordSuccess();

  let released = false;
  const release = () => {
    if (!released) backend.inFlight--;
    released = true;
  };
  const client = toAnswer(outgoing.method, upstream, transport.bodies, (body) =>
    transport.bodies.track(body, release, (error) => {
      if (!(error instanceof UpstreamError && error.failure === 'timeout')) return;
      backend.health.recordFailure(`${outgoing.method} ${outgoing.path} -> response body stalled`);
    }),
  );
  if (client.body === null) release();
  const cookie = pool.sticky?.setCookie(backend, exchange.headers);
  if (cookie) client.headers.append('set-cookie', cookie);
  return client;
}

function describeFailure(error: UpstreamError): string {
  const kind = error.failure === 'connect' ? 'cannot connect' : error.failure === 'timeout' ? 'timed out' : 'failed';
  return `${kind} (${error.message.split('\n')[0].slice(0, 200)})`;
}
