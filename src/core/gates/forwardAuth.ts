import * as answers from '../answers.ts';
import { FieldList } from '../http/FieldList.ts';
import { removeHopByHop } from '../http/hopByHop.ts';
import type { Exchange, Gate, GateAnswer, GateContext, OutgoingRequest } from '../Route.ts';
import type { UpstreamResponse, UpstreamTls, Wire } from '../Upstream.ts';
import { upstreamErrorOf } from '../UpstreamError.ts';
import { NULL_BODY_STATUSES } from '../proxy/toAnswer.ts';

/** A route's `forward_auth`, compiled. */
export interface ForwardAuthSettings {
  /** The auth service's origin, `http(s)://host:port`. */
  readonly origin: string;
  /** Its path and query. */
  readonly target: string;
  readonly tls?: UpstreamTls;
  /** The client's headers sent along (lower case); undefined sends all but the hop-by-hop ones. */
  readonly requestHeaders?: ReadonlySet<string>;
  /** The auth service's headers copied onto the request on a 2xx (lower case). */
  readonly responseHeaders: readonly string[];
  /** In milliseconds: to connect, and for the answer's headers and body. */
  readonly timeout: number;
}

/** Not the client's to send the auth service: the framing of a body that is not sent, and the Host, which is the service's own. */
const NOT_SENT = new Set(['host', 'content-length', 'transfer-encoding', 'expect']);

/**
 * `forward_auth`, as Traefik's ForwardAuth and nginx's `auth_request`: the auth service is asked
 * with a GET carrying the client's headers and the `X-Forwarded-*` fields that say what the
 * client asked for. A 2xx lets the request through, with `responseHeaders` copied onto it (the
 * client's own values of those removed first, so a client cannot forge them). Any other answer,
 * status, headers and body, is the client's. An auth service that cannot be reached is 503, one
 * that does not answer in time 504, each logged.
 */
export function forwardAuthGate(settings: ForwardAuthSettings): Gate {
  const timeouts = { connect: settings.timeout, responseHeaders: settings.timeout, bodyIdle: settings.timeout };
  return {
    name: 'forward_auth',
    identityHeaders: settings.responseHeaders,
    async pass<W extends Wire>(exchange: Exchange, outgoing: OutgoingRequest<W>, context: GateContext<W>): Promise<GateAnswer<W> | undefined> {
      let response: UpstreamResponse<W>;
      try {
        response = await context.subrequest({
          origin: settings.origin,
          target: settings.target,
          method: 'GET',
          headers: authRequestHeaders(exchange, outgoing, settings.requestHeaders),
          body: null,
          signal: context.signal,
          timeouts,
          tls: settings.tls,
        });
      } catch (caught) {
        const error = upstreamErrorOf(caught);
        const cause = `forward_auth: ${settings.origin}: ${error.message.split('\n')[0]}`;
        if (context.signal.aborted) return answers.gateUnavailable('the client went away', 'forward_auth: the client went away');
        context.errorLog.failed(error.failure === 'timeout' ? 504 : 503, exchange, cause);
        return error.failure === 'timeout' ? answers.gateTimeout(cause) : answers.gateUnavailable('the auth service cannot be reached', cause);
      }
      const { status, headers, body } = response;
      if (status >= 200 && status < 300) {
        if (body !== null) context.bodies.discard(body);
        for (const name of settings.responseHeaders) outgoing.headers.delete(name);
        headers.forEach((value, name) => {
          if (settings.responseHeaders.includes(name)) outgoing.headers.append(name, value);
        });
        return undefined;
      }
      removeHopByHop(headers);
      const noBody = exchange.method === 'HEAD' || NULL_BODY_STATUSES.has(status);
      if (noBody && body !== null) context.bodies.discard(body);
      return { status, headers, body: noBody ? null : body, cause: `forward_auth: the auth service answered ${status}` };
    },
    foresee() {
      const copied = settings.responseHeaders.length === 0 ? '' : ` with ${settings.responseHeaders.join(', ')} copied onto it`;
      return { verdict: 'asks', why: `would ask ${settings.origin}${settings.target}; its answer decides (a 2xx lets the request through${copied}, anything else is the answer)` };
    },
  };
}

/** The client's headers (all, or the listed ones) and the balancer's word on what was asked: method, scheme, host, URI, client. */
function authRequestHeaders(exchange: Exchange, outgoing: OutgoingRequest<Wire>, only: ReadonlySet<string> | undefined): FieldList {
  const headers = FieldList.copyOf(exchange.headers);
  removeHopByHop(headers);
  headers.deleteWhere((name) => NOT_SENT.has(name) || name.startsWith('x-forwarded-') || (only !== undefined && !only.has(name)));
  headers.set('x-forwarded-method', exchange.method);
  headers.set('x-forwarded-proto', exchange.scheme);
  if (exchange.host !== undefined) headers.set('x-forwarded-host', exchange.host);
  headers.set('x-forwarded-uri', exchange.path + exchange.query);
  // The chain the backend gets: the client's address as the balancer believes it, appended.
  const forwardedFor = outgoing.headers.get('x-forwarded-for') ?? exchange.clientAddress;
  if (forwardedFor) headers.set('x-forwarded-for', forwardedFor);
  headers.set('x-request-id', exchange.requestId);
  return headers;
}
