import { Hono, type Context } from 'hono';
import type { Backend } from '../core/pool/Backend.ts';
import type { ReloadReport } from '../server/LiveConfig.ts';
import type { BackendTraffic } from './BackendTraffic.ts';
import { statusPageHtml } from './statusPage.ts';
import { explainQuery } from './explainQuery.ts';
import { backendStatus, statusReport, type StatusSource } from './statusReport.ts';
import { carriesToken } from './carriesToken.ts';

/** What the admin listener shows and changes. */
export interface AdminContext {
  /** The config in use and its reloads, read per request. */
  readonly live: StatusSource;
  /** The token every request must carry, per the config in use; undefined for none (loopback only). */
  readonly token: () => string | undefined;
  /** Whether the listener is on a loopback address: then only loopback names are answered. */
  readonly loopbackOnly?: boolean;
  /** `/metrics`: this process's (`Metrics`), or the whole machine's under `--workers`. */
  readonly metrics: MetricsExposition;
  readonly traffic: BackendTraffic;
  /** Reloads the config file, as SIGHUP does. */
  readonly reload: () => Promise<ReloadReport | undefined>;
  /** Told of each drain, undrain or weight the admin API applies (`--workers` passes it on to every worker). @default none */
  readonly changed?: (backend: Backend) => void;
}

/** What `/metrics` answers with. */
export interface MetricsExposition {
  /** The exposition, in the Prometheus text format. */
  text(): Promise<string>;
  readonly contentType: string;
}

/** `Host` values that can only have come to a loopback listener: 127.0.0.0/8, ::1 or localhost, with a port or not. */
const LOOPBACK_HOST = /^(?:127(?:\.\d{1,3}){3}|\[::1\]|localhost)(?::\d{1,5})?$/i;

/** Whether an `Origin` is the admin listener itself (its status page). */
function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** The weights a backend may be given at run time: the config's bounds. */
const MAX_WEIGHT = 1000;

/**
 * The admin listener's endpoints (docs/operations.md): `/metrics`, `/status`, `/api/status`,
 * `/api/explain` (what the balancer would do with a request, `switchyard explain`'s JSON), and
 * `/api/backends/{backend}/drain|undrain|weight` and `/api/reload`, which change the balancer
 * at run time. A token, when set, is asked of every request: `Authorization: Bearer TOKEN`, or
 * as the password of basic auth, which a browser asks for and then sends with the page's polls.
 */
export function adminApp(admin: AdminContext): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    // A web page in a browser on this machine can send requests to a loopback port: one whose
    // name it controls (DNS rebinding) is refused by its Host, and a change sent from another
    // page (a cross-site form post, which needs no preflight) by its Origin.
    const host = c.req.header('host') ?? '';
    if (admin.loopbackOnly && !LOOPBACK_HOST.test(host)) return c.json({ error: `the admin listener answers to loopback names only, not ${JSON.stringify(host)}` }, 403);
    const origin = c.req.header('origin');
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && origin !== undefined && !sameOrigin(origin, host)) {
      return c.json({ error: 'a change from another web origin is refused' }, 403);
    }
    const token = admin.token();
    if (token !== undefined && !(await carriesToken(c.req.header('authorization'), token))) {
      return c.json({ error: 'this admin listener needs its token: Authorization: Bearer TOKEN' }, 401, { 'www-authenticate': 'Basic realm="switchyard admin", charset="UTF-8"' });
    }
    c.header('cache-control', 'no-store');
    await next();
  });

  // Relative, so it still works behind a proxy that serves the admin under a prefix.
  app.get('/', (c) => c.redirect('status', 302));
  app.get('/metrics', async (c) => c.body(await admin.metrics.text(), 200, { 'content-type': admin.metrics.contentType }));
  app.get('/status', (c) => c.html(statusPageHtml(), 200, { 'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:" }));
  app.get('/api/status', (c) => c.json(statusReport(admin.live, admin.traffic)));
  app.get('/api/explain', (c) => {
    const answer = explainQuery(admin.live.config, new URL(c.req.url).searchParams);
    return 'error' in answer ? c.json(answer, 400) : c.json(answer);
  });

  app.post('/api/reload', async (c) => {
    const report = await admin.reload();
    if (!report) return c.json({ result: 'unchanged', errors: [] });
    const body = { result: report.result, errors: report.errors, loaded_at: new Date(admin.live.loadedAt).toISOString() };
    return c.json(body, report.result === 'success' ? 200 : 422);
  });

  // `{backend}` as /api/status names it: `localhost:8081`, or with a base path `localhost:8081/api`.
  app.post('/api/backends/:backend{.+}/drain', (c) => changeBackend(c, admin, (backend) => void (backend.draining = true)));
  app.post('/api/backends/:backend{.+}/undrain', (c) => changeBackend(c, admin, (backend) => void (backend.draining = false)));
  app.put('/api/backends/:backend{.+}/weight', async (c) => {
    const weight = parseWeight(await c.req.text());
    if (weight === undefined) return c.json({ error: `the body is a weight from 1 to ${MAX_WEIGHT} (as 5 or {"weight": 5}), or null for the config's` }, 400);
    return changeBackend(c, admin, (backend) => {
      backend.weight = weight ?? undefined;
      for (const pool of admin.live.config.pools) if (pool.members.some((member) => member.backend === backend)) pool.reweigh();
    });
  });

  app.notFound((c) => c.json({ error: `no admin endpoint ${c.req.method} ${c.req.path}; see docs/operations.md` }, 404));
  return app;
}

/** Applies a change to a backend of the config in use and answers with its status, or 404 naming the backends there are. */
function changeBackend(c: Context, admin: AdminContext, change: (backend: Backend) => void): Response {
  const name = c.req.param('backend') ?? '';
  const { config } = admin.live;
  const backend = config.backends.find((candidate) => candidate.name === name || candidate.id === name);
  if (!backend) return c.json({ error: `no backend ${JSON.stringify(name)}; the backends are ${config.backends.map((each) => each.name).join(', ')}` }, 404);
  change(backend);
  admin.changed?.(backend);
  const routes = config.routesInOrder.filter((route) => route.pools.some((pool) => pool.members.some((member) => member.backend === backend))).map((route) => route.name);
  return c.json(backendStatus(backend, admin.traffic, routes));
}

/** A weight from a request body: `5`, `{"weight": 5}`, or null (back to the config's); undefined when it is neither. */
function parseWeight(text: string): number | null | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value === 'object' && value !== null && 'weight' in value) value = value.weight;
  if (value === null) return null;
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_WEIGHT ? (value as number) : undefined;
}
