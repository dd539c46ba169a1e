import { FieldList } from './http/FieldList.ts';
import type { HeaderFields } from './http/HeaderFields.ts';
import { webHeaders } from './http/webHeaders.ts';
import type { WebWire } from './proxy/Upstream.ts';

/**
 * What the client is sent: a backend's response on its way through, or one of the balancer's own.
 * `Body` is the runtime's body type (a web stream, a Node stream); the balancer's own answers
 * carry text. The headers are the answer's own, free to change (response rules, sticky cookies).
 */
export interface Answer<Body = never> {
  readonly status: number;
  readonly headers: HeaderFields;
  readonly body: Body | string | null;
}

/** The balancer's own answers: a status with a short plain-text body. */
export function plainAnswer(status: number, text: string, headers?: Record<string, string>): Answer {
  const fields = new FieldList(['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store']);
  for (const name in headers) fields.set(name, headers[name]);
  return { status, headers: fields, body: `${text}\n` };
}

/** An answer as a web `Response`, for the runtimes that serve those. */
export function toResponse(answer: Answer<WebWire['body']>): Response {
  return new Response(answer.body as BodyInit | null, { status: answer.status, headers: webHeaders(answer.headers) });
}

/** `plainAnswer` as a web `Response`. */
export const plainResponse = (status: number, text: string, headers?: Record<string, string>): Response =>
  toResponse(plainAnswer(status, text, headers));

export const notFound = () => plainAnswer(404, 'Not Found');
export const badRequest = (why: string) => plainAnswer(400, `Bad Request: ${why}`);
export const noHealthyBackend = (routeName: string) => plainAnswer(503, `Service Unavailable: no healthy backend for ${routeName}`);
