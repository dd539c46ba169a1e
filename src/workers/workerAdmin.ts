import { carriesToken } from '../admin/carriesToken.ts';
import type { SharedStateObject } from './stateMessages.ts';
import { HEALTH_OBJECT } from './SwitchyardState.ts';
import { withTimeout } from './withTimeout.ts';
import type { DurableObjectNamespace } from './workersTypes.ts';

/** How long `/metrics` or `/status` waits for the Durable Object. */
const ADMIN_TIMEOUT_MS = 5_000;

/** The paths the Worker answers itself, to a GET that carries the admin token. */
const ADMIN_PATHS = new Set(['/metrics', '/status']);

/** Whether a request asks for `/metrics` or `/status` (then `answerAdmin` decides, by its token). */
export function asksAdmin(request: Request): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const { pathname } = new URL(request.url);
  return ADMIN_PATHS.has(pathname);
}

/**
 * `/metrics` (Prometheus text) and `/status` (`/api/status`'s JSON) for the whole Worker, from the
 * SWITCHYARD_STATE object's view, on any host. Only a request carrying the config's `admin.token`
 * (`Authorization: Bearer TOKEN`, or as basic auth's password) gets them: any other goes on to the
 * routes as usual, so the backends' own `/metrics` and `/status` stay theirs and the admin
 * endpoints say nothing of themselves to whoever lacks the token. Answered before `firewall_rules`,
 * as the admin listener on Node and Deno is: the token guards them, an `ip_allow` does not.
 * @returns undefined when the request is not the admin's
 */
export async function answerAdmin(request: Request, token: string, namespace: DurableObjectNamespace<SharedStateObject>): Promise<Response | undefined> {
  if (!(await carriesToken(request.headers.get('authorization') ?? undefined, token))) return undefined;
  const state = namespace.get(namespace.idFromName(HEALTH_OBJECT));
  const headers = { 'cache-control': 'no-store' };
  try {
    if (new URL(request.url).pathname === '/metrics') {
      const text = await withTimeout(state.metrics(), ADMIN_TIMEOUT_MS);
      if (text !== undefined) return new Response(text, { headers: { ...headers, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
    } else {
      const status = await withTimeout(state.status(), ADMIN_TIMEOUT_MS);
      if (status !== undefined) return Response.json(status, { headers });
    }
    return Response.json({ error: 'the shared state has no config loaded; see the Worker logs' }, { status: 503, headers });
  } catch (error) {
    return Response.json({ error: `the SWITCHYARD_STATE Durable Object does not answer: ${error instanceof Error ? error.message : String(error)}` }, { status: 503, headers });
  }
}
