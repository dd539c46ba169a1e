/**
 * Responses the balancer builds around a body stream, and the stream each was built with.
 * Reading `response.body` back is not free everywhere: Node's adapter hands out lightweight
 * Response objects that become full ones (headers re-validated, body re-wrapped) on first access
 * to `body`. The proxy path only needs the stream it put in, so it keeps it here.
 */
const bodies = new WeakMap<Response, ReadableStream<Uint8Array> | null>();

/** `new Response(body, init)`, remembering `body`. Its headers stay mutable. */
export function proxiedResponse(body: ReadableStream<Uint8Array> | null, init: { status: number; headers: Headers }): Response {
  const response = new Response(body, init);
  bodies.set(response, body);
  return response;
}

/** The body stream of a response, without materialising it where that costs. */
export function bodyOf(response: Response): ReadableStream<Uint8Array> | null {
  const body = bodies.get(response);
  return body !== undefined ? body : response.body;
}

/** Whether the response was built by `proxiedResponse`, so its headers may be changed in place. */
export function isProxiedResponse(response: Response): boolean {
  return bodies.has(response);
}
