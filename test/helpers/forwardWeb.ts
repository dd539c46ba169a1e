import type { PickRequest } from '../../src/core/balancing/BalancingStrategy.ts';
import { ErrorLog } from '../../src/core/ErrorLog.ts';
import { forward } from '../../src/core/proxy/forward.ts';
import type { Exchange, OutgoingRequest, Route } from '../../src/core/Route.ts';
import type { Upstream } from '../../src/core/Upstream.ts';
import { webBodies } from '../../src/core/proxy/webBodies.ts';
import { toResponse } from '../../src/core/toResponse.ts';

export interface ForwardWebOptions {
  readonly upstream: Upstream;
  /** @default a signal that never aborts */
  readonly signal?: AbortSignal;
  /** The client as the balancing strategies see it. @default no address, no headers */
  readonly pick?: PickRequest;
  /** @default one that writes nowhere */
  readonly errorLog?: ErrorLog;
}

/** `forward` on the web wire to `route`'s (first) pool, its answer as a `Response`, as Deno and Workers serve it. */
export async function forwardWeb(route: Route, outgoing: OutgoingRequest, options: ForwardWebOptions): Promise<Response> {
  const client = options.pick ?? { clientAddress: undefined, headers: new Headers() };
  const exchange: Exchange = {
    method: outgoing.method,
    headers: client.headers,
    scheme: 'http',
    clientAddress: client.clientAddress,
    host: undefined,
    path: outgoing.path,
    query: outgoing.query,
    requestId: 'test-request',
    route,
  };
  return toResponse(await forward(exchange, route.pools[0], outgoing, { upstream: options.upstream, bodies: webBodies, signal: options.signal ?? new AbortController().signal, errorLog: options.errorLog ?? new ErrorLog(() => {}) }));
}
