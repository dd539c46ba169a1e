import type { HeaderFields } from './http/HeaderFields.ts';
import type { Trailers } from './Upstream.ts';

// The words for what goes back, each for one thing:
// - `UpstreamResponse` (Upstream.ts): a backend's response as the upstream client hands it over.
// - `Answer` (here): what the client is sent: a backend's response on its way through
//   (`toAnswer`, proxy/toAnswer.ts), or one of the balancer's own (`answers`, answers.ts).
// - `Response`: only ever the Web platform's class; `toResponse` (toResponse.ts) makes one of an
//   answer for the runtimes that serve those. On `node:http`, `sendAnswer` (server/nodeWire.ts)
//   writes an answer to a `ServerResponse`, and `answerBytes` (server/answerBytes.ts) to a socket.

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
  /** The backend's trailer fields (`UpstreamResponse.trailers`), sent after the body where the client takes them. */
  readonly trailers?: Trailers;
}
