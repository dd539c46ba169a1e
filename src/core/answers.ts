import type { Answer } from './Answer.ts';
import { FieldList } from './http/FieldList.ts';

// The balancer's own answers, one per row of the status table in docs/requests.md ("Statuses the
// balancer answers itself"), each a status with a short plain-text body that says why. Every
// answer the balancer makes rather than a backend is one of these; `Answer.ts` names the rest.
// Import the module whole, so that a call reads as the row it is: `answers.notFound()`.

/** The balancer's own answer: its body is text, its headers a list the caller may still add to. */
export interface OwnAnswer extends Answer {
  readonly headers: FieldList;
  readonly body: string;
  /** Why, for the access log, where it says more than the body may tell the client. */
  readonly cause?: string;
}

function plain(status: number, text: string, cause?: string): OwnAnswer {
  return { status, headers: new FieldList(['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store']), body: `${text}\n`, cause };
}

/** The methods a route serves without a `method_allow`: every one but CONNECT and TRACE. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

const REDIRECT_REASONS = { 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };

/**
 * 301, 302, 307 or 308 to `location` (a route's `redirect`); 307 and 308 keep the method and body
 * (RFC 9110 section 15.4).
 */
export function redirect(status: keyof typeof REDIRECT_REASONS, location: string): OwnAnswer {
  const answer = plain(status, `${REDIRECT_REASONS[status]}: ${location}`);
  answer.headers.set('location', location);
  return answer;
}

/** 308: the same request, elsewhere (`redirect_https`): the method and body are kept (RFC 9110 section 15.4.9). */
export const permanentRedirect = (location: string) => redirect(308, location);

/** 400: the request cannot be read as one to forward (`why` says what is wrong with it). */
export const badRequest = (why: string) => plain(400, `Bad Request: ${why}`);

/**
 * 401: `basic_auth` wants credentials, or the ones sent are wrong (RFC 7235 section 3.1, RFC 7617).
 * @param realm sent in `WWW-Authenticate`, which browsers show in their prompt
 * @param cause for the access log only
 */
export function unauthorized(realm: string, cause: string): OwnAnswer {
  const answer = plain(401, 'Unauthorized', cause);
  answer.headers.set('www-authenticate', `Basic realm="${realm}", charset="UTF-8"`);
  return answer;
}

/**
 * 403: a firewall rule refuses the request (RFC 9110 section 15.5.4).
 * @param rule which one, for the access log only: the client is not told what to get round
 */
export const forbidden = (rule?: string) => plain(403, 'Forbidden', rule && `firewall: ${rule}`);

/** 403: a CORS preflight from an origin `cors` does not allow: sent without any `Access-Control-Allow-*`, so the browser blocks the request. */
export const originForbidden = (cause: string) => plain(403, 'Forbidden: cross-origin requests from this origin are not allowed', cause);

/** 404: no route matches. */
export const notFound = () => plain(404, 'Not Found');

/** 405: a `TRACE` its route does not allow, with the methods that are (RFC 9110 section 15.5.6). */
export function methodNotAllowed(): OwnAnswer {
  const answer = plain(405, 'Method Not Allowed');
  answer.headers.set('allow', ALLOWED_METHODS);
  return answer;
}

/** 408: the request head or body did not arrive in time. */
export const requestTimeout = () => plain(408, 'Request Timeout');

/** 413: the request body is larger than `max_request_body` (RFC 9110 section 15.5.14); the connection is closed, its unread rest not worth reading. */
export function contentTooLarge(cause: string): OwnAnswer {
  const answer = plain(413, 'Content Too Large', cause);
  answer.headers.set('connection', 'close');
  return answer;
}

/** 414: the request-target is longer than `limits.max_request_target` (RFC 9110 section 15.5.15). */
export const uriTooLong = () => plain(414, 'URI Too Long');

/**
 * 429: a rate limit is exceeded (RFC 6585 section 4).
 * @param retryAfterMs when a request could pass again, sent as `Retry-After` in whole seconds (RFC 9110 section 10.2.3)
 */
export function tooManyRequests(retryAfterMs: number): OwnAnswer {
  const answer = plain(429, 'Too Many Requests');
  answer.headers.set('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  return answer;
}

/** 431: the request head has more fields, or more bytes of them, than the limits allow (RFC 6585 section 5). */
export const requestHeaderFieldsTooLarge = () => plain(431, 'Request Header Fields Too Large');

/** 500: the balancer failed (a bug, a rewrite that made no path, a config that does not load); `why` only where the client may know. */
export const internalServerError = (why?: string) => plain(500, why === undefined ? 'Internal Server Error' : `Internal Server Error: ${why}`);

/** 501: the request asks for what a balancer does not do (`why` says what). */
export const notImplemented = (why: string) => plain(501, `Not Implemented: ${why}`);

/** 502: the backend could not be reached, or failed before its response was usable. */
export const badGateway = () => plain(502, 'Bad Gateway');

/** 503: no backend of the route is healthy, or none could be connected to; the body names the route. */
export const serviceUnavailable = (routeName: string) => plain(503, `Service Unavailable: no healthy backend for ${routeName}`);

/** 504: the backend did not answer in time. */
export const gatewayTimeout = () => plain(504, 'Gateway Timeout');

/** 503: an edge middleware cannot decide now (the auth service cannot be reached, too many password checks at once); `why` is the client's to read. */
export function gateUnavailable(why: string, cause: string, retryAfterSeconds?: number): OwnAnswer {
  const answer = plain(503, `Service Unavailable: ${why}`, cause);
  if (retryAfterSeconds !== undefined) answer.headers.set('retry-after', String(retryAfterSeconds));
  return answer;
}

/** 504: the auth service (`forward_auth`) did not answer in time. */
export const gateTimeout = (cause: string) => plain(504, 'Gateway Timeout: the auth service did not answer in time', cause);

/**
 * 503: `redirect_https` for a host whose certificate `tls.acme` is still obtaining: a redirect would
 * send the client into a failing handshake, so it is told why here instead, and when to try again.
 */
export function certificatePending(host: string): OwnAnswer {
  const answer = plain(503, `Service Unavailable: the certificate for ${host} is being obtained; try again shortly`, `redirect_https: no certificate for ${host} yet`);
  answer.headers.set('retry-after', '30');
  return answer;
}
