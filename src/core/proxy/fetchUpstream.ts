import { webHeaders } from '../http/webHeaders.ts';
import { MAX_TIMER_MS } from '../timers.ts';
import type { Upstream, UpstreamRequest } from '../Upstream.ts';
import { UpstreamError, upstreamErrorOf } from '../UpstreamError.ts';


type FetchLike = (input: string, init: RequestInit & { duplex?: 'half' }) => Promise<Response>;

/**
 * The portable upstream client, on the runtime's `fetch`. `fetch` cannot tell connect time from
 * waiting time, so one timer covers both (connect + response headers); the body idle timer is
 * applied while the body streams. Where the runtime's `fetch` filters the Host header or decodes
 * compressed bodies, that shows here; see the README's runtime notes.
 * @param fetchImpl looked up late by default, so tests and mocks can replace `globalThis.fetch`
 */
export function fetchUpstream(fetchImpl: FetchLike = (input, init) => globalThis.fetch(input, init)): Upstream {
  return async (request: UpstreamRequest) => {
    const timer = new AbortController();
    const limit = Math.min(request.timeouts.connect + request.timeouts.responseHeaders, MAX_TIMER_MS);
    const timeout = setTimeout(() => timer.abort(new UpstreamError('timeout', `no response headers within ${limit} ms`)), limit);
    let response: Response;
    try {
      response = await fetchImpl(request.origin + request.target, {
        method: request.method,
        headers: webHeaders(request.headers),
        body: request.body as BodyInit | null,
        redirect: 'manual',
        signal: AbortSignal.any([request.signal, timer.signal]),
        duplex: 'half',
      });
    } catch (error) {
      if (timer.signal.aborted) throw timer.signal.reason;
      throw upstreamErrorOf(error);
    } finally {
      clearTimeout(timeout);
    }
    // A fetch response's headers are immutable: copy them once here, so later steps edit in place.
    const headers = new Headers(response.headers);
    return { status: response.status, headers, body: response.body && withIdleTimeout(response.body, request.timeouts.bodyIdle) };
  };
}

/**
 * Errors the body when the backend sends nothing for `ms` while the client is waiting for more,
 * so a stalled backend cannot hold a client forever. The timer runs only around a read of the
 * source: a client that reads slowly (backpressure) is not mistaken for a stalled backend.
 */
function withIdleTimeout(body: ReadableStream<Uint8Array>, ms: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new UpstreamError('timeout', `response body idle for ${ms} ms`)), ms);
        });
        try {
          const result = await Promise.race([reader.read(), stalled]);
          if (result.done) controller.close();
          else controller.enqueue(result.value);
        } catch (error) {
          reader.cancel(error).catch(() => {});
          controller.error(error);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
