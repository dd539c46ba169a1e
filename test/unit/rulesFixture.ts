import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import type { Upstream, UpstreamRequest } from '../../src/core/Upstream.ts';

/** An app over a fake upstream that records what each backend would have received. */
export function appWith(yaml: string, options: { peer?: string; now?: () => number; responseHeaders?: Record<string, string> } = {}) {
  const seen: UpstreamRequest[] = [];
  const state = { peer: 'peer' in options ? options.peer : ('192.0.2.10' as string | undefined) };
  const upstream: Upstream = async (request) => {
    seen.push(request);
    return new Response('ok', { headers: { 'x-backend': 'one', ...options.responseHeaders } });
  };
  const app = createApp({ config: loadConfig(yaml, 'lb.yaml', { now: options.now }), upstream, clientAddress: () => state.peer, log: () => {} });
  return {
    app,
    seen,
    state,
    /** The last request the backend saw. */
    last: () => seen.at(-1)!,
    send: (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => app.request(`http://lb.test${path}`, init),
  };
}

/** The ConfigError text for a config, or a failure when it loads. */
export function configErrors(yaml: string): string {
  try {
    loadConfig(yaml, 'lb.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}
