import type { IncomingMessage } from 'node:http';
import { unmapIpv4 } from '../core/firewall/ipAddress.ts';
import { FieldList } from '../core/http/FieldList.ts';
import type { ClientRequest } from '../core/proxy/admit.ts';
import { splitTarget } from '../core/proxy/splitTarget.ts';
import type { NodeWire } from './nodeWire.ts';

/**
 * A request as `node:http` parsed it, in the core's terms: the request-target kept as sent (so the
 * query is forwarded byte for byte), the header fields as one flat list, and the body as the
 * message stream itself when HTTP/1.1 frames one (RFC 9112 section 6.3).
 */
export function clientRequestOf(request: IncomingMessage): ClientRequest<NodeWire> {
  const headers = FieldList.fromRaw(request.rawHeaders);
  // HTTP/2: its pseudo-header fields are the request line, not fields to forward; `:authority`
  // stands for Host (RFC 9113 section 8.3.1).
  if (request.httpVersionMajor === 2) {
    const authority = request.headers[':authority'];
    for (const name of [':method', ':path', ':scheme', ':authority', ':protocol']) headers.delete(name);
    if (!headers.has('host') && typeof authority === 'string') headers.set('host', authority);
    // Clients send each cookie in a field of its own over HTTP/2 (it compresses better); they are
    // one field again, joined by "; " as node:http2 joins them, before `match`, sticky sessions or
    // an HTTP/1.1 backend read them (RFC 9113 section 8.2.3), which would otherwise see "a=1, b=2".
    const { cookie } = request.headers;
    if (typeof cookie === 'string' && headers.get('cookie') !== cookie) headers.set('cookie', cookie);
  }
  const target = request.url ?? '/';
  // An absolute-form target's authority is the request's host, whatever Host says (RFC 9112
  // section 3.2.2), for plain requests and upgrades alike.
  const authority = target.charCodeAt(0) === 47 /* / */ ? undefined : splitTarget(target).authority;
  if (authority !== undefined) headers.set('host', authority);
  return {
    method: request.method ?? 'GET',
    target,
    headers,
    // A TLS listener's sockets say so: X-Forwarded-Proto and ${scheme} follow the listener.
    scheme: (request.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    peer: unmapIpv4(request.socket.remoteAddress),
    body: hasBody(request, headers) ? request : null,
  };
}

/**
 * Whether the request has a body. In HTTP/1.1 only these two fields frame one (RFC 9112 section
 * 6.3), and a length of 0 frames none; in HTTP/2 a stream that did not end with its headers
 * carries one, with or without a length (RFC 9113 section 8.1).
 */
function hasBody(request: IncomingMessage, headers: FieldList): boolean {
  if (request.httpVersionMajor === 2) {
    const stream = (request as IncomingMessage & { stream?: { endAfterHeaders?: boolean } }).stream;
    if (stream?.endAfterHeaders) return false;
    if (!headers.has('content-length')) return true;
  }
  if (headers.has('transfer-encoding')) return true;
  const length = headers.get('content-length');
  return length !== null && length.trim() !== '0';
}
