import { forward, type ForwardOptions } from '../../src/core/proxy/forward.ts';
import type { OutgoingRequest } from '../../src/core/Route.ts';
import type { WebWire } from '../../src/core/Upstream.ts';
import { webBodies } from '../../src/core/proxy/webBodies.ts';
import type { Pool } from '../../src/core/pool/Pool.ts';
import { toResponse } from '../../src/core/responses.ts';

/** `forward` on the web wire, its answer as a `Response`, as Deno and Workers serve it. */
export async function forwardWeb(pool: Pool, outgoing: OutgoingRequest, options: Omit<ForwardOptions<WebWire>, 'bodies'>): Promise<Response> {
  return toResponse(await forward(pool, outgoing, { bodies: webBodies, ...options }));
}
