import type { LoadedConfig } from '../core/config/loadConfig.ts';
import type { Backend } from '../core/pool/Backend.ts';
import type { RouteTarget } from '../core/Route.ts';
import type { ReloadReport } from '../server/LiveConfig.ts';
import type { MinuteTotals } from '../core/observe/MinuteWindow.ts';

/** What `/api/status` reads: the config in use and where it came from. */
export interface StatusSource {
  readonly config: LoadedConfig;
  readonly source: string;
  readonly loadedAt: number;
  readonly reloads: { readonly success: number; readonly failure: number };
  readonly lastReload: ReloadReport | undefined;
}

/** Each backend's traffic as the status shows it: this process's (`BackendTraffic`), or the whole machine's under `--workers`. */
export interface TrafficView {
  /** The last minute's requests and errors of a backend, by id. */
  lastMinute(id: string): MinuteTotals;
  /** Requests sent to the backend and not yet answered in full. */
  inFlight(backend: Backend): number;
}

/** A backend's health in one word, the worst first: what it means for new requests. */
export type BackendHealth = 'draining' | 'down' | 'ejected' | 'up';

/** `/api/status`: the routes, the named pools, and each backend's health and traffic (docs/operations.md). */
export function statusReport(live: StatusSource, traffic: TrafficView, now = Date.now()) {
  const { config } = live;
  const routesOf = new Map<Backend, string[]>();
  const routes = config.routesInOrder.map((route) => {
    for (const pool of route.pools) {
      for (const member of pool.members) {
        const names = routesOf.get(member.backend) ?? [];
        if (!routesOf.has(member.backend)) routesOf.set(member.backend, names);
        if (!names.includes(route.name)) names.push(route.name);
      }
    }
    const { target } = route;
    return {
      name: route.name,
      host: route.host ?? null,
      path: route.path,
      ...describeTarget(target),
      // Each backend once, however many sides of a split hold it.
      backends: [...new Map(route.pools.flatMap((pool) => pool.members.map((member) => [member.backend.name, { backend: member.backend.name, weight: member.weight }] as const))).values()],
    };
  });
  const pools = config.pools.flatMap((pool) =>
    pool.name === undefined
      ? []
      : [{ name: pool.name, algorithm: pool.algorithm, backends: pool.members.map((member) => ({ backend: member.backend.name, weight: member.weight })), routes: config.routesInOrder.filter((route) => route.pools.includes(pool)).map((route) => route.name) }],
  );
  const backends = config.backends.map((backend) => backendStatus(backend, traffic, routesOf.get(backend) ?? [], now));
  const last = live.lastReload;
  return {
    config: {
      source: live.source,
      loaded_at: new Date(live.loadedAt).toISOString(),
      reloads: { success: live.reloads.success, failure: live.reloads.failure },
      last_reload: last ? { at: new Date(last.at).toISOString(), result: last.result, errors: last.errors } : null,
    },
    routes,
    pools,
    backends,
  };
}

/**
 * A route's target as the status shows it: `algorithm` (the pool's, `split`, or the own answer,
 * `redirect 308`), the named pool or the split's sides, each null where it has none.
 */
function describeTarget(target: RouteTarget) {
  if (target.kind === 'answer') return { algorithm: `${target.key} ${target.status}`, pool: null, split: null };
  if (target.kind === 'split') return { algorithm: 'split', pool: null, split: target.split.sides.map((side) => ({ pool: side.pool.name, weight: side.weight })) };
  return { algorithm: target.pool.algorithm, pool: target.pool.name ?? null, split: null };
}

export type BackendStatus = ReturnType<typeof backendStatus>;

/** One backend as `/api/status` shows it, and as the admin API answers a change to it. */
export function backendStatus(backend: Backend, traffic: TrafficView, routes: readonly string[], now = Date.now()) {
  const { health } = backend;
  const ejected = health.isEjected(now);
  const minute = traffic.lastMinute(backend.id);
  const runtimeChanges: string[] = [];
  if (backend.draining) runtimeChanges.push('drained');
  if (backend.weight !== undefined) runtimeChanges.push('weight');
  return {
    backend: backend.name,
    url: backend.id,
    health: healthOf(backend, ejected),
    checks: health.active ? health.state : 'off',
    ejected,
    draining: backend.draining,
    weight: backend.weight ?? null,
    in_flight: traffic.inFlight(backend),
    requests_per_second: Math.round((minute.requests / 60) * 1000) / 1000,
    error_rate: minute.requests === 0 ? 0 : Math.round((minute.errors / minute.requests) * 10_000) / 10_000,
    requests_last_minute: minute.requests,
    errors_last_minute: minute.errors,
    runtime_changes: runtimeChanges,
    routes,
  };
}

function healthOf(backend: Backend, ejected: boolean): BackendHealth {
  if (backend.draining) return 'draining';
  if (!backend.health.isUp) return 'down';
  return ejected ? 'ejected' : 'up';
}
