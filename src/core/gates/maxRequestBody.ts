import * as answers from '../answers.ts';
import type { BodyLimit, Exchange, Gate } from '../Route.ts';

/**
 * `max_request_body`: a body declared larger (`Content-Length`) is answered 413 at once, unread; one
 * of unknown length (chunked, or HTTP/2 without the field) is counted while it streams, and cut off
 * past the limit: the upload to the backend is aborted and `forward` answers 413 (the request's
 * `bodyLimit` says why it failed). A declared length within the limit needs no counting: the
 * runtime's parser holds a body to the length it declared.
 */
export function maxRequestBodyGate(bytes: number): Gate {
  return {
    name: 'max_request_body',
    pass(exchange, outgoing, context) {
      if (outgoing.body === null) return undefined;
      const declared = declaredLength(exchange);
      if (declared !== undefined) return declared > bytes ? tooLarge(declared, bytes) : undefined;
      const limit: BodyLimit = { bytes, exceeded: false };
      outgoing.bodyLimit = limit;
      outgoing.body = context.bodies.limit(outgoing.body, bytes, () => void (limit.exceeded = true));
      return undefined;
    },
    foresee(exchange, outgoing) {
      if (outgoing.body === null) return { verdict: 'passes', why: 'no body' };
      const declared = declaredLength(exchange);
      if (declared === undefined) return { verdict: 'passes', why: `a body of unknown length is counted as it streams: 413 past ${bytes} bytes` };
      if (declared > bytes) return { verdict: 'answers', status: 413, why: tooLarge(declared, bytes).cause! };
      return { verdict: 'passes', why: `Content-Length ${declared} is within ${bytes} bytes` };
    },
  };
}

function declaredLength(exchange: Exchange): number | undefined {
  const declared = exchange.headers.get('content-length');
  return declared === null ? undefined : Number(declared);
}

function tooLarge(length: number, bytes: number) {
  return answers.contentTooLarge(`max_request_body: Content-Length ${length} is over ${bytes} bytes`);
}
