import type { Context, Hono } from 'hono';
import { createApp } from '../app.ts';
import { jsonLine, textLine } from '../core/observe/accessLogLine.ts';
import type { RequestObserver } from '../core/observe/RequestRecord.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';
import { startHealthChecks, type HealthChecks } from '../core/health/startHealthChecks.ts';
import { fetchUpstream } from '../core/proxy/fetchUpstream.ts';
import { fetchWebSocket } from '../core/proxy/webSocket.ts';
import { runtimeEncodedCompression } from '../core/proxy/webCompression.ts';
import * as answers from '../core/answers.ts';
import { toResponse } from '../core/toResponse.ts';
import { DurableRateLimits } from './DurableRateLimits.ts';
import { HealthCache } from './HealthCache.ts';
import { probeSchedule } from './probeSchedule.ts';
import { configHash, HEALTH_OBJECT } from './SwitchyardState.ts';
import { TrafficTally } from './TrafficTally.ts';
import { bindingText, loadWorkerConfig, workerConfigSource } from './workerConfig.ts';
import type { Env } from './workersTypes.ts';

/** What one isolate keeps between requests: the compiled config, the app built on it, its health checks. */
export type IsolateBalancer =
  | {
      readonly ok: true;
      readonly config: LoadedConfig;
      readonly app: Hono;
      readonly health: HealthChecks;
      /** The Worker's shared health (with the SWITCHYARD_STATE binding): this isolate's cached copy. */
      readonly shared: HealthCache | undefined;
      /**
       * Brings health up to date unless it is fresh: with the binding, a sync with the Durable
       * Object once per TTL; without it (or while the object does not answer), a round of this
       * isolate's own probes once per the shortest check interval. Resolves when done.
       */
      probeIfStale(now: number): Promise<void> | undefined;
    }
  | { readonly ok: false; readonly problem: string };

/** The isolate's balancer, the config text it came from, and each binding `${env:NAME}` read in it. */
let current: { readonly key: string; readonly reads: ReadonlyMap<string, string | undefined>; readonly balancer: IsolateBalancer } | undefined;

/** What a Worker without `LB_CONFIG` logs, once per isolate, while it answers every request 500. */
export const MISSING_CONFIG =
  'switchyard: LB_CONFIG is not set, so there is no config to serve: set it to the config\'s YAML or JSON text ' +
  '(npx wrangler secret put LB_CONFIG < lb.yaml; locally, npx wrangler dev --var LB_CONFIG:"$(cat lb.yaml)"), ' +
  'or set LB_DEMO=1 to serve the bundled examples/loadbalancer.yaml (npx wrangler dev --var LB_DEMO:1)';

/** Rounds the object may miss before isolates stop following it and probe themselves: one missed is a slow round, three a stopped alarm. */
const STALE_ROUNDS = 3;

/** How long an isolate goes by its copy of the shared verdicts: the check interval, within 1 to 2 seconds. */
export function sharedHealthTtl(intervalMs: number): number {
  return Math.min(2_000, Math.max(1_000, intervalMs));
}

/**
 * The balancer for this isolate, compiled once from `LB_CONFIG` (or, when `LB_DEMO` is 1, the
 * bundled example) and reused by every later request and cron event the isolate serves. A config
 * that fails to load, or is missing, is remembered too, so every request answers 500 at once
 * instead of parsing the text again. Health checks never run on timers here (timers do not outlive
 * a request on Workers): with the SWITCHYARD_STATE binding a Durable Object probes for every
 * isolate and keeps the rate limits; without it the entry point runs rounds of probes itself,
 * from requests and from Cron Triggers, and each isolate keeps its own buckets.
 * @param bundledConfig the text of examples/loadbalancer.yaml, as wrangler bundles it
 */
export function isolateBalancer(env: Env, bundledConfig: string, log: (line: string) => void): IsolateBalancer {
  const source = workerConfigSource(env, bundledConfig);
  const { key } = source;
  if (current?.key === key && [...current.reads].every(([name, value]) => bindingText(env, name) === value)) return current.balancer;
  const reads = new Map<string, string | undefined>();
  if (source.text === undefined) {
    log(MISSING_CONFIG);
    return remember(key, reads, { ok: false, problem: MISSING_CONFIG });
  }
  const namespace = env.SWITCHYARD_STATE;
  // What the isolate reports with each sync: its requests, and the limited ones its own buckets answered.
  const tally = namespace && new TrafficTally();
  const loaded = loadWorkerConfig(env, { ...source, text: source.text }, {
    read: (name, value) => reads.set(name, value),
    rateLimitStore: namespace && new DurableRateLimits(namespace, log, { onFallback: tally?.fallback }),
  });
  if (!loaded.ok) {
    log(`switchyard: cannot load the config:\n${loaded.problem}`);
    return remember(key, reads, { ok: false, problem: loaded.problem });
  }
  const { config } = loaded;
  // Cloudflare terminates TLS and manages the certificates: the balancer has no listener here.
  const acme = config.listeners.findIndex((listener) => listener.tls?.acme);
  if (acme >= 0) log(`switchyard: listen[${acme}].tls.acme does nothing on Workers: Cloudflare terminates TLS and issues the certificates (docs/automatic-https.md)`);
  const upstream = fetchUpstream();
  let shared: HealthCache | undefined;
  // While the Durable Object answers, it logs each health change once for the whole Worker.
  const health = startHealthChecks(config.backends, { upstream, log: (line) => void (shared?.following || log(line)), schedule: false });
  const schedule = probeSchedule(config.backends);
  const interval = schedule?.intervalMs ?? Infinity;
  if (namespace) {
    const options = { ttlMs: sharedHealthTtl(interval), staleAfterMs: schedule ? STALE_ROUNDS * schedule.roundMs : Infinity, log, tally };
    shared = new HealthCache(config, configHash(key, reads), () => namespace.get(namespace.idFromName(HEALTH_OBJECT)), options);
  }
  const accessLog = accessLogOf(env.LB_ACCESS_LOG, log);
  const observe = tally?.observe;
  let lastRound = -Infinity;
  return remember(key, reads, {
    ok: true,
    config,
    app: createApp({
      config,
      upstream,
      clientAddress,
      log,
      observe: observe && accessLog ? (record) => (observe(record), accessLog(record)) : (observe ?? accessLog),
      // workerd's fetch performs the upgrade itself and answers 101 with the backend's socket
      // attached (`response.webSocket`); returned as it is, the runtime joins it to the client.
      webSocket: fetchWebSocket(),
      // workerd encodes a returned body by its Content-Encoding: compressing it here too would encode it twice.
      compression: runtimeEncodedCompression,
      clientAcceptEncoding,
    }),
    health,
    shared,
    probeIfStale(now) {
      const sync = shared?.syncIfStale(now);
      if (shared?.following || interval === Infinity || now - lastRound < interval) return sync;
      lastRound = now;
      const round = health.probeAll();
      return sync ? Promise.all([sync, round]).then(() => undefined) : round;
    },
  });
}

function remember(key: string, reads: ReadonlyMap<string, string | undefined>, balancer: IsolateBalancer): IsolateBalancer {
  if (current?.balancer.ok) current.balancer.health.stop();
  current = { key, reads, balancer };
  return balancer;
}

/**
 * The access log on Workers: `LB_ACCESS_LOG` is `json` (the default), `text` or `off`, as
 * `--access-log` on Node and Deno. Lines go to `console.log`, which Workers Logs and
 * `wrangler tail` show; an unknown value is said once and taken as `json`.
 */
function accessLogOf(setting: unknown, log: (line: string) => void): RequestObserver | undefined {
  const format = setting === undefined ? 'json' : String(setting);
  if (format === 'off') return undefined;
  if (format !== 'json' && format !== 'text') log(`switchyard: LB_ACCESS_LOG=${format} is not a format; expected json, text or off: json it is`);
  const line = format === 'text' ? textLine : jsonLine;
  return (record) => console.log(line(record));
}


/** The answer to every request while the config is broken; the details go to the Worker's logs only. */
export function configBroken(): Response {
  return toResponse(answers.internalServerError('the balancer config does not load; see the Worker logs'));
}

/** Cloudflare's edge puts the client's address in `CF-Connecting-IP`; wrangler dev does too. */
function clientAddress(c: Context): string | undefined {
  return c.req.header('cf-connecting-ip') ?? undefined;
}

/**
 * The client's own Accept-Encoding: workerd hands the Worker `br, gzip` whatever the client sent
 * (and then encodes the response for the client itself), keeping the client's value in
 * `request.cf.clientAcceptEncoding` (empty when it sent none).
 */
function clientAcceptEncoding(c: Context): string | undefined {
  return (c.req.raw as Request & { cf?: { clientAcceptEncoding?: unknown } }).cf?.clientAcceptEncoding as string | undefined;
}
