import * as acme from 'acme-client';
import { Agent } from 'node:https';

/** The longest one request to the CA may go without an answer. */
export const CA_REQUEST_TIMEOUT_MS = 30_000;

/**
 * acme-client sends every request through one axios instance. Tuned once per process:
 * - a timeout, which axios lacks: a CA that accepts and never answers would hold an order for ever;
 * - none of acme-client's own retries (5, sleeping up to the CA's Retry-After each, hours on a 429,
 *   inside one request): the balancer's backoff and Retry-After handling govern instead;
 * - a network error (no response) turned into "cannot reach URL: CODE" before acme-client sees it,
 *   which would otherwise end in `Cannot read properties of undefined (reading 'config')`
 *   (publishlab/node-acme-client#101).
 */
function tuneCaRequests(): void {
  const defaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings: { retryMaxAttempts: number } };
  defaults.timeout = CA_REQUEST_TIMEOUT_MS;
  defaults.acmeSettings.retryMaxAttempts = 0;
  // Ahead of acme-client's own response handler (axios runs them in order), which cannot be
  // configured out of the #101 crash; an Error without `config` it passes on untouched.
  const handlers = (acme.axios.interceptors.response as unknown as { handlers: unknown[] }).handlers;
  handlers.unshift({
    fulfilled: null,
    rejected: (error: { code?: string; message?: string; response?: unknown; config?: { url?: string } }) => {
      if (error.response || !error.config) throw error;
      throw new Error(`cannot reach ${error.config.url}: ${error.code ?? error.message}${error.code === 'ECONNABORTED' ? ` (no answer in ${CA_REQUEST_TIMEOUT_MS / 1000} s)` : ''}`);
    },
    synchronous: false,
    runWhen: null,
  });
}
tuneCaRequests();

/** The origins whose HTTPS certificates `directory_ca` vouches for, and the agent that trusts it. */
const trustedDirectories = new Map<string, Agent>();

/** Trusts `ca` for the requests to `directory`'s origin only: the agent is chosen per request by its origin. */
export function trustForDirectory(directory: string, ca: Buffer): void {
  if (trustedDirectories.size === 0) {
    acme.axios.interceptors.request.use((request) => {
      const agent = request.url ? trustedDirectories.get(new URL(request.url).origin) : undefined;
      if (agent) request.httpsAgent = agent;
      return request;
    });
  }
  trustedDirectories.set(new URL(directory).origin, new Agent({ ca }));
}
