import { FieldList } from './http/FieldList.ts';
import type { HeaderFields } from './http/HeaderFields.ts';
import { webHeaders } from './http/webHeaders.ts';
import type { WebWire } from './Upstream.ts';

/**
 * What the client is sent: a backend's response on its way through, or one of the balancer's own.
 * `Body` is the runtime's body type (a web stream, a Node stream); the balancer's own answers
 * carry text. The headers are the answer's own, free to change (response rules, sticky cookies).
 */
export interface Answer<Body = never> {
  readonly status: number;
  readonly headers: HeaderFields;
  readonly body: Body | string | null;
  /** On a 101, the backend's upgraded connection where it is not the body (`UpstreamResponse.tunnel`). */
  readonly tunnel?: unknown;
}

/** The balancer's own answers: a status with a short plain-text body. */
export function plainAnswer(status: number, text: string, headers?: Record<string, string>): Answer {
  const fields = new FieldList(['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store']);
  for (const name in headers) fields.set(name, headers[name]);
  return { status, headers: fields, body: `${text}\n` };
}

/** An answer as a web `Response`, for the runtimes that serve those. */
export function toResponse(answer: Answer<WebWire['body']>): Response {
  // workerd: a 101 is answered with the backend's WebSocket attached, which the runtime joins.
  if (answer.status === 101 && answer.tunnel instanceof Response) {
    return new Response(null, { status: 101, headers: webHeaders(answer.headers), webSocket: (answer.tunnel as Response & { webSocket?: unknown }).webSocket } as ResponseInit);
  }
  return new Response(answer.body as BodyInit | null, { status: answer.status, headers: webHeaders(answer.headers) });
}

/** `plainAnswer` as a web `Response`. */
export const plainResponse = (status: number, text: string, headers?: Record<string, string>): Response =>
  toResponse(plainAnswer(status, text, headers));

export const notFound = () => plainAnswer(404, 'Not Found');
export const badRequest = (why: string) => plainAnswer(400, `Bad Request: ${why}`);
export const noHealthyBackend = (routeName: string) => plainAnswer(503, `Service Unavailable: no healthy backend for ${routeName}`);
