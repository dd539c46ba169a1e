import type { ServerResponse } from 'node:http';
import { finished, pipeline } from 'node:stream';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { getBodyTap, type BodyTap } from '../core/proxy/bodyTap.ts';
import { bodyOf } from '../core/proxy/proxiedResponse.ts';
import { claimNodeSource } from './nodeBody.ts';

/**
 * Node's fast lane for proxied bodies: when the app's response body is the untouched body of an
 * upstream response (seen through observers such as in-flight counting), the upstream socket's
 * stream is piped straight into the client's, instead of through two web-stream conversions.
 * Status and headers are the app's, as it left them. Returns undefined when the lane does not
 * apply, and the adapter then writes the response as usual.
 */
export function sendDirect(response: Response, outgoing: ServerResponse): Response | undefined {
  const body = bodyOf(response);
  if (!body) return undefined;
  let stream: ReadableStream<Uint8Array> = body;
  const taps: BodyTap[] = [];
  for (let tap = getBodyTap(stream); tap; tap = getBodyTap(stream)) {
    if (stream.locked) return undefined;
    taps.push(tap);
    stream = tap.inner;
  }
  const source = claimNodeSource(stream);
  if (!source) return undefined;

  const headers: string[] = [];
  response.headers.forEach((value, name) => headers.push(name, value));
  outgoing.writeHead(response.status, headers);

  const { source: readable } = source;
  const length = Number(response.headers.get('content-length') ?? NaN);
  if (length > 0 && readable.readableLength === length) {
    // The whole body has arrived already (the common small response): one write carries the
    // headers and the body, instead of one write for each.
    outgoing.end(readable.read());
    finished(readable.resume(), () => taps.forEach((tap) => tap.done()));
    return RESPONSE_ALREADY_SENT;
  }

  // Which side broke first decides whether the backend is to blame: a client that goes away
  // makes the pipeline destroy the source too, and that is an abandonment, not a backend failure.
  let backendError: unknown;
  let clientGone = false;
  readable.once('error', (error) => {
    if (!clientGone) backendError ??= source.mapError(error);
  });
  outgoing.once('close', () => {
    if (!outgoing.writableFinished && backendError === undefined) clientGone = true;
  });
  pipeline(readable, outgoing, () => {
    for (const tap of taps) {
      if (backendError !== undefined) tap.failed(backendError);
      tap.done();
    }
  });
  return RESPONSE_ALREADY_SENT;
}
