import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { bodyOf } from '../core/proxy/proxiedResponse.ts';
import { claimNodeSource } from './nodeBody.ts';

/**
 * Node's fast lane for proxied bodies: when the app's response body is the untouched body of an
 * upstream response, the upstream socket's stream is piped straight into the client's, instead of
 * through two web-stream conversions. Status and headers are the app's, as it left them; whoever
 * waits for the body's end (in-flight counting) hears it from the Node stream itself
 * (`markSettled` in nodeBody.ts). Returns undefined when the lane does not apply, and the adapter
 * then writes the response as usual.
 */
export function sendDirect(response: Response, outgoing: ServerResponse): Response | undefined {
  const body = bodyOf(response);
  const source = body && claimNodeSource(body);
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
    readable.resume();
    return RESPONSE_ALREADY_SENT;
  }
  // A failing source destroys the client's response (cut off, never ended as if complete); a
  // client that goes away destroys the source.
  pipeline(readable, outgoing, () => {});
  return RESPONSE_ALREADY_SENT;
}
