import type { Context, Hono } from 'hono';
import { createApp } from '../app.ts';
import { jsonLine, textLine } from '../core/observe/accessLogLine.ts';
import type { RequestObserver } from '../core/observe/RequestRecord.ts';
import { ConfigError } from '../core/config/ConfigError.ts';
import { loadConfig, type LoadedConfig } from '../core/config/loadConfig.ts';
import { startHealthChecks, type HealthChecks } from '../core/health/startHealthChecks.ts';
import { fetchUpstream } from '../core/proxy/fetchUpstream.ts';
import { fetchWebSocket } from '../core/proxy/webSocket.ts';
import { runtimeEncodedCompression } from '../core/proxy/webCompression.ts';
import * as answers from '../core/answers.ts';
import { toResponse } from '../core/toResponse.ts';
import type { Env } from './workersTypes.ts';

/** What one isolate keeps between requests: the compiled config, the app built on it, its health checks. */
export type IsolateBalancer =
  | {
      readonly ok: true;
      readonly config: LoadedConfig;
      readonly app: Hono;
      readonly health: HealthChecks;
      /** Runs a round of probes unless one ran within the shortest check interval; resolves when done. */
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

/**
 * The balancer for this isolate, compiled once from `LB_CONFIG` (or, when `LB_DEMO` is 1, the
 * bundled example) and reused by every later request and cron event the isolate serves. A config
 * that fails to load, or is missing, is remembered too, so every request answers 500 at once
 * instead of parsing the text again. Health checks never run on timers here (timers do not outlive
 * a request on Workers): the entry point runs rounds of probes itself, from requests and from Cron
 * Triggers.
 * @param bundledConfig the text of examples/loadbalancer.yaml, as wrangler bundles it
 */
export function isolateBalancer(env: Env, bundledConfig: string, log: (line: string) => void): IsolateBalancer {
  const demo = env.LB_CONFIG === undefined && isDemo(env.LB_DEMO);
  const source = env.LB_CONFIG ?? (demo ? bundledConfig : undefined);
  const fileName = demo ? 'examples/loadbalancer.yaml' : 'LB_CONFIG';
  const key = source === undefined ? 'missing' : `${fileName}\n${source}`;
  if (current?.key === key && [...current.reads].every(([name, value]) => bindingText(env, name) === value)) return current.balancer;
  const reads = new Map<string, string | undefined>();
  if (source === undefined) {
    log(MISSING_CONFIG);
    return remember(key, reads, { ok: false, problem: MISSING_CONFIG });
  }
  let balancer: IsolateBalancer;
  try {
    const read = (name: string) => {
      const value = bindingText(env, name);
      reads.set(name, value);
      return value;
    };
    const config = loadConfig(source, fileName, { env: read });
    // Cloudflare terminates TLS and manages the certificates: the balancer has no listener here.
    const acme = config.listeners.findIndex((listener) => listener.tls?.acme);
    if (acme >= 0) log(`switchyard: listen[${acme}].tls.acme does nothing on Workers: Cloudflare terminates TLS and issues the certificates (docs/automatic-https.md)`);
    const upstream = fetchUpstream();
    const health = startHealthChecks(config.backends, { upstream, log, schedule: false });
    const intervals = config.backends.flatMap((backend) => (backend.health.active ? [backend.health.active.intervalMs] : []));
    const interval = intervals.length > 0 ? Math.min(...intervals) : Infinity;
    let lastRound = -Infinity;
    balancer = {
      ok: true,
      config,
      app: createApp({
        config,
        upstream,
        clientAddress,
        log,
        observe: accessLogOf(env.LB_ACCESS_LOG, log),
        // workerd's fetch performs the upgrade itself and answers 101 with the backend's socket
        // attached (`response.webSocket`); returned as it is, the runtime joins it to the client.
        webSocket: fetchWebSocket(),
        // workerd encodes a returned body by its Content-Encoding: compressing it here too would encode it twice.
        compression: runtimeEncodedCompression,
        clientAcceptEncoding,
      }),
      health,
      probeIfStale(now) {
        if (interval === Infinity || now - lastRound < interval) return undefined;
        lastRound = now;
        return health.probeAll();
      },
    };
  } catch (error) {
    const problem = error instanceof ConfigError ? error.message : `${fileName}: ${error instanceof Error ? error.message : String(error)}`;
    log(`switchyard: cannot load the config:\n${problem}`);
    balancer = { ok: false, problem };
  }
  return remember(key, reads, balancer);
}

function remember(key: string, reads: ReadonlyMap<string, string | undefined>, balancer: IsolateBalancer): IsolateBalancer {
  if (current?.balancer.ok) current.balancer.health.stop();
  current = { key, reads, balancer };
  return balancer;
}

/** A binding as `${env:NAME}` reads it: vars and secrets are text; a KV namespace or such is not set. */
function bindingText(env: Env, name: string): string | undefined {
  const value = env[name];
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
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

/** `LB_DEMO=1` (or `true`) asks for the bundled demo config; anything else does not. */
function isDemo(value: string | undefined): boolean {
  return value === '1' || value?.toLowerCase() === 'true';
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
