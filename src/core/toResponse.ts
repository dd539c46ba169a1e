import type { Answer } from './Answer.ts';
import { webHeaders } from './http/webHeaders.ts';
import type { WebWire } from './Upstream.ts';

/** An answer as a web `Response`, for the runtimes that serve those (Workers, and the Hono app anywhere). */
export function toResponse(answer: Answer<WebWire['body']>): Response {
  // workerd: a 101 is answered with the backend's WebSocket attached, which the runtime joins.
  if (answer.status === 101 && answer.tunnel instanceof Response) {
    return new Response(null, { status: 101, headers: webHeaders(answer.headers), webSocket: (answer.tunnel as Response & { webSocket?: unknown }).webSocket } as ResponseInit);
  }
  return new Response(answer.body as BodyInit | null, { status: answer.status, headers: webHeaders(answer.headers) });
}
