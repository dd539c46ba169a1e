import { FieldList } from '../http/FieldList.ts';
import type { HeaderFields } from '../http/HeaderFields.ts';
import { normalizePath } from '../path/normalizePath.ts';
import { isValidHost } from '../routing/normalizeHost.ts';
import type { RequestFacts } from '../routing/MatchRequest.ts';
import type { Answer } from '../Answer.ts';
import * as answers from '../answers.ts';
import type { Exchange, Guard, OutgoingRequest, RequestRewrite, Route } from '../Route.ts';
import { forward, type Transport } from './forward.ts';
import { gateFields, passGates } from './passGates.ts';
import { addForwardingHeaders } from './forwardingHeaders.ts';
import { removeHopByHop } from '../http/hopByHop.ts';
import { splitTarget } from './splitTarget.ts';
import type { WebWire, Wire } from '../Upstream.ts';
import { RequestRecord } from '../observe/RequestRecord.ts';
import { requestIdFrom } from '../rules/requestId.ts';
import { MIRROR_HEADER } from '../pool/Mirror.ts';
import { compressAnswer } from '../compress/compressAnswer.ts';

const ABSOLUTE_FORM = /^https?:\/\//i;

/** A refusal of a request whose head was out of bounds: the rest of it is not worth reading. */
function closing(answer: answers.OwnAnswer): Answer {
  answer.headers.set('connection', 'close');
  return answer;
}

/** How much of a request head the balancer reads before it refuses it (a compiled config's `server` settings). */
export interface HeadLimits {
  /** Longest request-target (path and query), in bytes: 414 past it. */
  readonly maxRequestTarget: number;
  /** Largest request head, in bytes: 431 past it. */
  readonly maxHeaderSize: number;
  /** Most header fields in one request: 431 past it. */
  readonly maxHeaderCount: number;
}

/** What `admit` needs of a compiled config: its routes, who the client is, and the head limits. */
export interface AdmitConfig {
  readonly routes: { match(host: string | undefined, path: string, request: RequestFacts): Route | undefined };
  /** The client's address from the peer's and the forwarding headers (`trusted_proxies`); the peer's without it. */
  readonly clientAddress?: (peer: string | undefined, headers: HeaderFields) => string | undefined;
  readonly server: HeadLimits;
}

/** A client's request as a runtime hands it to the core. */
export interface ClientRequest<W extends Wire = WebWire> {
  readonly method: string;
  /** The request-target as it arrived (`/path?query`), or the request URL where that is all there is. */
  readonly target: string;
  /** The client's header fields (read only). */
  readonly headers: HeaderFields;
  readonly scheme: 'http' | 'https';
  /** The address of the connection's peer, where the runtime knows it. */
  readonly peer: string | undefined;
  /** Null when the request has no body. */
  readonly body: W['body'] | null;
}

/**
 * What `explain` watches as `admit` takes a request: the same steps with the same values a real
 * request meets. With a trace, `admit` is dry: the guards spend nothing (no rate-limit token).
 */
export interface AdmitTrace {
  /** The route lookup, with what it read: `route` is undefined for none (404). */
  routed(lookup: { readonly host: string | undefined; readonly path: string; readonly request: RequestFacts }, route: Route | undefined): void;
  /** A guard asked, and its refusal or undefined. */
  guarded(guard: Guard, refusal: Answer | undefined): void;
  /** Before a request rule applies. */
  rewriting(step: RequestRewrite, outgoing: OutgoingRequest<Wire>): void;
  /** After it applied (not called when it throws). */
  rewritten(step: RequestRewrite, outgoing: OutgoingRequest<Wire>): void;
}

/** A request let in: where it goes, and as what. */
export interface Admitted<W extends Wire = WebWire> {
  readonly exchange: Exchange;
  readonly outgoing: OutgoingRequest<W>;
  /** What the logs and metrics learn of it, filled in on the way. */
  readonly record: RequestRecord;
  /**
   * The verdict of a guard that asks elsewhere (a shared rate limit) and of those after it, still
   * on its way: `forwardAdmitted` awaits it before anything else. Absent without a shared guard.
   */
  readonly verdict?: Promise<GuardRefusal | undefined>;
}

/** A guard's refusal, and which guard it was. */
export interface GuardRefusal {
  readonly guard: Guard;
  readonly answer: Answer;
}

/**
 * The first half of every request, the same on every runtime: the path is normalised, the route
 * found, the guards (firewall, rate limit) asked, and the outgoing request built with the
 * forwarding headers and the route's request rules. Returns the balancer's own answer instead
 * when the request goes no further (400, 403, 404, 429).
 */
export function admit<W extends Wire>(config: AdmitConfig, request: ClientRequest<W>, record = new RequestRecord(), trace?: AdmitTrace): Admitted<W> | Answer {
  const refused = (answer: Answer) => refuse(record, answer);
  record.method = request.method;
  record.path = request.target;
  record.client = request.peer;
  // Made first, so that even a refusal carries an id to quote.
  const requestId = (record.requestId = requestIdFrom(request.headers));
  // A tunnel, not a request for a resource: a balancer has nothing to forward it to. Forwarded,
  // undici would open one to the backend (RFC 9110 section 9.3.6).
  if (request.method === 'CONNECT') return refused(answers.notImplemented('CONNECT is not proxied'));
  // Origin form, or absolute form from a client that takes the balancer for a proxy; the
  // asterisk and authority forms ask nothing a balancer forwards (RFC 9112 section 3.2).
  if (request.target.charCodeAt(0) !== 47 /* / */ && !ABSOLUTE_FORM.test(request.target)) return refused(answers.badRequest('the request-target is not a path'));
  const limits = config.server;
  const target = splitTarget(request.target);
  record.path = target.path;
  record.query = target.query;
  // Measured as the backend would get it, whatever form the runtime handed over (RFC 9110 section 15.5.15).
  if (target.path.length + target.query.length > limits.maxRequestTarget) return refused(closing(answers.uriTooLong()));
  const refusal = refuseHead(request.headers, limits);
  if (refusal) return refused(refusal);
  const path = normalizePath(target.path);
  if (path === undefined) return refused(answers.badRequest('the path cannot be normalised safely'));
  record.path = path;

  const host = (record.host = request.headers.get('host') ?? undefined);
  if (host !== undefined && !isValidHost(host)) return refused(answers.badRequest('the Host header is not a host'));
  const facts: RequestFacts = { method: request.method, headers: request.headers, query: target.query };
  const route = (record.route = config.routes.match(host, path, facts));
  trace?.routed({ host, path, request: facts }, route);
  if (!route) return refused(answers.notFound());
  // TRACE echoes the request, credentials included, to whatever script asks (cross-site tracing):
  // refused, as nginx does, unless a route's method_allow names it (RFC 9110 section 9.3.8).
  if (request.method === 'TRACE' && !route.allowsTrace) return refused(answers.methodNotAllowed());

  // The peer is who connected; the client is who trusted proxies say sent it (trusted_proxies).
  const { peer } = request;
  const clientAddress = (record.client = config.clientAddress?.(peer, request.headers) ?? peer);
  const exchange: Exchange = { method: request.method, headers: request.headers, scheme: request.scheme, clientAddress, host, path, query: target.query, requestId, route };
  const { guards } = route;
  let verdict: Promise<GuardRefusal | undefined> | undefined;
  for (let i = 0; i < guards.length; i++) {
    const guard = guards[i]!;
    // A shared guard's verdict comes later; those after it wait for it, so a refusal still stops the rest.
    if (guard.shared && !trace) {
      verdict = guardsInTurn(guards.slice(i), exchange);
      break;
    }
    const refusal = guard.check(exchange, trace !== undefined);
    trace?.guarded(guard, refusal);
    if (refusal) return refusedByGuard(record, exchange, { guard, answer: refusal });
  }

  const headers = FieldList.copyOf(request.headers);
  removeHopByHop(headers);
  // The expectation is met on this hop (Node answers 100 Continue itself, RFC 9110 section
  // 10.1.1); undici refuses to send the field at all.
  headers.delete('expect');
  addForwardingHeaders(headers, { address: peer, protocol: request.scheme, host });
  headers.set('x-request-id', requestId);
  // Only the balancer's copies say they are copies: a backend that spares them side effects must
  // not be fooled by a client saying so of a real request.
  headers.delete(MIRROR_HEADER);
  const outgoing: OutgoingRequest<W> = { method: request.method, path, query: target.query, headers, body: request.body };
  for (const step of route.requestRewrites) {
    trace?.rewriting(step, outgoing);
    step.apply(exchange, outgoing);
    trace?.rewritten(step, outgoing);
  }
  return verdict ? { exchange, outgoing, record, verdict } : { exchange, outgoing, record };
}

/**
 * The guards from a shared one on, in turn: the first refusal, or undefined when all let the
 * request pass. The store is asked for every shared limit at once, one round trip (`takeAll`,
 * atomic: a refusal by one spends no token of the others); a store without it, limit by limit.
 */
async function guardsInTurn(guards: readonly Guard[], exchange: Exchange): Promise<GuardRefusal | undefined> {
  const buckets = guards.map((guard) => guard.shared?.bucket(exchange));
  const asked = buckets.filter((bucket) => bucket !== undefined);
  const { store } = guards.find((guard) => guard.shared)!.shared!;
  const together = asked.length > 1 && store.takeAll ? { waits: await store.takeAll(asked) } : undefined;
  let next = 0;
  for (let i = 0; i < guards.length; i++) {
    const guard = guards[i]!;
    const bucket = buckets[i];
    let answer: Answer | undefined;
    if (!guard.shared || !bucket) answer = guard.check(exchange);
    else {
      const wait = together ? together.waits?.[next++] : await store.take(bucket.limit, bucket.key, bucket.policy);
      answer = guard.shared.answer(bucket, wait);
    }
    if (answer) return { guard, answer };
  }
  return undefined;
}

/** A guard's refusal as the client gets it: counted as the guard's, with the route's HSTS and the request id. */
function refusedByGuard(record: RequestRecord, exchange: Exchange, { guard, answer }: GuardRefusal): Answer {
  record.refusedBy = guard.rule === 'rate_limit' ? 'rate_limit' : 'firewall';
  exchange.route.hsts?.(exchange, answer.headers);
  return refuse(record, answer);
}

/** The balancer's own answer to a request it goes no further with: its cause recorded, its id sent back. */
function refuse(record: RequestRecord, answer: Answer): Answer {
  record.error ??= causeOf(answer);
  answer.headers.set('x-request-id', record.requestId);
  return answer;
}

/** The reason an own answer gives, from its body's first line (`Bad Request: the path ...`). */
export function causeOf(answer: Answer & { cause?: string }): string {
  if (answer.cause) return answer.cause;
  const body = typeof answer.body === 'string' ? answer.body : '';
  return body.split('\n', 1)[0] || String(answer.status);
}

/** Whether `admit` let the request in. */
export function isAdmitted<W extends Wire>(result: Admitted<W> | Answer): result is Admitted<W> {
  return 'exchange' in result;
}

/**
 * The second half: a shared guard's verdict awaited (a rate limit kept in Redis), refused as
 * `admit` would have; the route's gates asked (CORS preflight, basic_auth, forward_auth,
 * max_request_body); then the route's own answer (`redirect`, `respond`), or the request forwarded
 * to the route's pool, or to the side of its split this request draws (with retries). The route's
 * response rules and the gates' fields (CORS) then apply to whatever answer comes back, the
 * route's own included, and its body is compressed where the route's `compress` says so.
 */
export async function forwardAdmitted<W extends Wire>({ exchange, outgoing, record, verdict }: Admitted<W>, transport: Transport<W>): Promise<Answer<W['body']>> {
  if (verdict) {
    const refusal = await verdict;
    if (refusal) return refusedByGuard(record, exchange, refusal);
  }
  if (exchange.route.gates.length > 0) {
    const context = { subrequest: transport.subrequest ?? transport.upstream, bodies: transport.bodies, signal: transport.signal, errorLog: transport.errorLog };
    const refusal = await passGates(exchange, outgoing, context, record);
    if (refusal) {
      exchange.route.hsts?.(exchange, refusal.headers);
      refusal.headers.set('x-request-id', exchange.requestId);
      return refusal;
    }
  }
  let answer = await answerOrForward(exchange, outgoing, transport, record);
  try {
    for (const rewrite of exchange.route.responseRewrites) rewrite(exchange, answer.headers);
    gateFields(exchange, answer.headers);
    const { compress } = exchange.route;
    if (compress) answer = compressAnswer(compress, transport.bodies, exchange, answer).answer;
    // Ours, last, whatever the backend or a rule set: the id the log line carries.
    answer.headers.set('x-request-id', exchange.requestId);
  } catch (error) {
    // The body would never be read: let it go, so its backend stops counting it in flight.
    if (answer.body !== null && typeof answer.body !== 'string') transport.bodies.discard(answer.body);
    throw error;
  }
  return answer;
}

/**
 * Step 7: the route's target. An own answer goes back at once, to a WebSocket handshake as well
 * (answered, never tunnelled), and no backend is tried; a split draws its side (and, sticky, sets
 * the cookie naming it on whatever answer comes back).
 */
async function answerOrForward<W extends Wire>(exchange: Exchange, outgoing: OutgoingRequest<W>, transport: Transport<W>, record: RequestRecord): Promise<Answer<W['body']>> {
  const { target } = exchange.route;
  if (target.kind === 'answer') return target.answer(exchange);
  if (target.kind === 'pool') return forward(exchange, target.pool, outgoing, transport, record);
  const side = target.split.choose(exchange.headers);
  const answer = await forward(exchange, side.pool, outgoing, transport, record);
  if (side.setCookie) answer.headers.append('set-cookie', side.setCookie);
  return answer;
}

/**
 * Refuses a request head the balancer will not forward: more fields, or more bytes of them, than
 * the limits allow (431, RFC 6585 section 5), and a transfer coding other than `chunked` alone,
 * whose meaning would be lost on the way (501, RFC 9112 section 6.1; as nginx answers).
 */
function refuseHead(headers: HeaderFields, limits: HeadLimits): Answer | undefined {
  let count = 0;
  let bytes = 0;
  let codings: string | undefined;
  headers.forEach((value, name) => {
    count++;
    bytes += name.length + value.length + 4;
    if (name === 'transfer-encoding') codings = codings === undefined ? value : `${codings}, ${value}`;
  });
  if (count > limits.maxHeaderCount || bytes > limits.maxHeaderSize) return closing(answers.requestHeaderFieldsTooLarge());
  if (codings !== undefined && codings.trim().toLowerCase() !== 'chunked') return closing(answers.notImplemented('a transfer coding other than chunked'));
  return undefined;
}
