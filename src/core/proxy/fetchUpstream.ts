import { proxiedResponse } from './proxiedResponse.ts';
import { UpstreamError, type Upstream, type UpstreamRequest } from './Upstream.ts';

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
    const timeout = setTimeout(
      () => timer.abort(new UpstreamError('timeout', `no response headers within ${request.timeouts.connect + request.timeouts.responseHeaders} ms`)),
      request.timeouts.connect + request.timeouts.responseHeaders,
    );
    let response: Response;
    try {
      response = await fetchImpl(request.origin + request.target, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.any([request.signal, timer.signal]),
        duplex: 'half',
      });
    } catch (error) {
      if (timer.signal.aborted) throw timer.signal.reason;
      throw classify(error);
    } finally {
      clearTimeout(timeout);
    }
    // A fetch response's headers are immutable: copy them once here, so later steps edit in place.
    const headers = new Headers(response.headers);
    if (!response.body) return proxiedResponse(null, { status: response.status, headers });
    return proxiedResponse(response.body.pipeThrough(idleTimeout(request.timeouts.bodyIdle)), { status: response.status, headers });
  };
}

function classify(error: unknown): UpstreamError {
  const text = describe(error);
  const refused = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|connection refused|connect error|dns error/i.test(text);
  return new UpstreamError(refused ? 'connect' : 'failed', text, { cause: error });
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error as { message?: string; code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    parts.push([e.code, e.message].filter(Boolean).join(' '));
  }
  return parts.join(': ') || String(error);
}

/** Errors the stream when no chunk arrives for `ms`, so a stalled backend cannot hold a client forever. */
function idleTimeout(ms: number): TransformStream<Uint8Array, Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (controller: TransformStreamDefaultController<Uint8Array>) => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.error(new UpstreamError('timeout', `response body idle for ${ms} ms`)), ms);
  };
  return new TransformStream({
    start: arm,
    transform(chunk, controller) {
      controller.enqueue(chunk);
      arm(controller);
    },
    flush: () => clearTimeout(timer),
    cancel: () => clearTimeout(timer),
  } as Transformer<Uint8Array, Uint8Array>);
}
