import type { HeaderFields } from '../http/HeaderFields.ts';

/**
 * What a client's `X-Request-Id` may be to be kept: 1 to 200 characters that need no quoting in a
 * header, a log line or a URL (a UUID, a ULID, base64, a trace id). Anything else, a value longer
 * or with spaces, quotes or control characters, is replaced, so a client cannot forge log lines.
 */
const VALID_REQUEST_ID = /^[A-Za-z0-9._~:+/=@-]{1,200}$/;

/**
 * The request's id: the client's `X-Request-Id` when it is a valid one (a proxy in front already
 * named the request), else a random UUID (RFC 9562). It is sent upstream and back, logged, and
 * `${request_id}` in rules.
 */
export function requestIdFrom(headers: HeaderFields): string {
  const sent = headers.get('x-request-id');
  return sent !== null && VALID_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
}
