import type { Answer } from '../core/Answer.ts';
import * as answers from '../core/answers.ts';
import type { RequestRecord } from '../core/observe/RequestRecord.ts';
import type { ClientRequest } from '../core/proxy/admit.ts';
import { splitTarget } from '../core/proxy/splitTarget.ts';
import { isValidHost, normalizeHost } from '../core/routing/normalizeHost.ts';
import { requestIdFrom } from '../core/rules/requestId.ts';
import type { Wire } from '../core/Upstream.ts';

/**
 * `redirect_https`: 308 to the same host, path and query on HTTPS (308 keeps the method and body,
 * RFC 9110 section 15.4.9), on the balancer's HTTPS port (left out when it is 443). A request
 * without a usable Host cannot be sent anywhere: 400. A host whose certificate `tls.acme` is still
 * obtaining is told so (503) rather than sent into a handshake that fails.
 */
export function httpsRedirect(request: ClientRequest<Wire>, to: { readonly port: number; readonly certificatePending?: (host: string) => boolean }, record: RequestRecord): Answer {
  const host = request.headers.get('host');
  record.method = request.method;
  record.host = host ?? undefined;
  record.client = request.peer;
  record.requestId = requestIdFrom(request.headers);
  const target = splitTarget(request.target);
  record.path = target.path;
  record.query = target.query;
  if (host === null || host === '' || !isValidHost(host)) {
    record.error = 'redirect_https: no Host to redirect to';
    const refusal = answers.badRequest('the Host header is not a host');
    refusal.headers.set('x-request-id', record.requestId);
    return refusal;
  }
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  if (to.certificatePending?.(normalizeHost(name))) {
    const pending = answers.certificatePending(normalizeHost(name));
    record.error = pending.cause;
    pending.headers.set('x-request-id', record.requestId);
    return pending;
  }
  const httpsPort = to.port;
  const path = target.path.startsWith('/') ? target.path : '/';
  const answer = answers.permanentRedirect(`https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}${path}${target.query}`);
  answer.headers.set('x-request-id', record.requestId);
  return answer;
}
