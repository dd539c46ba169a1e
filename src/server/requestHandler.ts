import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledConfig } from '../core/config/compileConfig.ts';
import { unmapIpv4 } from '../core/firewall/ipAddress.ts';
import { FieldList } from '../core/http/FieldList.ts';
import { admit, forwardAdmitted, isAdmitted } from '../core/proxy/admit.ts';
import { splitTarget } from '../core/proxy/splitTarget.ts';
import type { Upstream } from '../core/proxy/Upstream.ts';
import { plainAnswer } from '../core/responses.ts';
import { ClientSignal, nodeBodies, sendAnswer, type NodeWire } from './nodeWire.ts';

export interface NodeHandlerOptions {
  readonly config: CompiledConfig;
  readonly upstream: Upstream<NodeWire>;
  readonly log: (line: string) => void;
}

/**
 * Serves HTTP requests on Node straight from `node:http`: the core's `admit` and
 * `forwardAdmitted`, the same as every runtime runs, on Node's own objects. The request-target is
 * kept as sent, so the query is forwarded byte for byte. WebSocket upgrades take the other door
 * (`upgrade` in node.ts).
 */
export function nodeRequestHandler(options: NodeHandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const { config, upstream, log } = options;
  const fail = (response: ServerResponse, error: unknown) => {
    log(`switchyard: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (!response.headersSent) sendAnswer(response, plainAnswer(500, 'Internal Server Error'));
    else response.destroy();
  };

  return (request, response) => {
    try {
      const headers = FieldList.fromRaw(request.rawHeaders);
      const target = request.url ?? '/';
      // An absolute-form target's authority is the request's host, whatever Host says (RFC 9112
      // section 3.2.2). Only Node hands over the request line as sent; the README says how the
      // other runtimes differ.
      const authority = target.charCodeAt(0) === 47 /* / */ ? undefined : splitTarget(target).authority;
      if (authority !== undefined) headers.set('host', authority);
      const admitted = admit<NodeWire>(config, {
        method: request.method ?? 'GET',
        target,
        headers,
        scheme: 'http',
        peer: unmapIpv4(request.socket.remoteAddress),
        // HTTP/1.1 frames a request body only by these two fields (RFC 9112 section 6.3).
        body: headers.has('content-length') || headers.has('transfer-encoding') ? request : null,
      });
      if (!isAdmitted(admitted)) return sendAnswer(response, admitted);
      forwardAdmitted(admitted, { upstream, bodies: nodeBodies, signal: new ClientSignal(response) }).then(
        (answer) => sendAnswer(response, answer),
        (error) => fail(response, error),
      );
    } catch (error) {
      fail(response, error);
    }
  };
}
