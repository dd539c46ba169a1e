import type { StickySettings } from '../balancing/sticky.ts';
import { DEFAULT_ACTIVE_CHECK, DEFAULT_PASSIVE_HEALTH, type ActiveCheckSettings, type PassiveHealthSettings } from '../health/HealthSettings.ts';
import { DEFAULT_RETRIES, type RetrySettings } from '../retry/RetrySettings.ts';
import type { UpstreamProtocol, UpstreamTls } from '../Upstream.ts';
import { besideConfigFile } from './besideConfigFile.ts';
import type { Config, PoolConfig } from './schema/index.ts';

/** A pool's keys as written, on a route or a named pool. */
type Entry = Partial<PoolConfig>;

/**
 * A pool section as the route sees it: the route's own value, else the top level's. `false` turns
 * it off; `true` turns it on with the top level's fields (or the defaults); an object is laid over
 * the top level's object field by field. Undefined means off.
 */
function section<T extends object>(global: boolean | T | undefined, local: boolean | T | undefined, onByDefault: boolean): Partial<T> | undefined {
  const value = local ?? global;
  if (value === false || (value === undefined && !onByDefault)) return undefined;
  const base: Partial<T> = typeof global === 'object' ? global : {};
  return typeof value === 'object' ? { ...base, ...value } : base;
}

/** The route's active health checks, defaults filled in; undefined when switched off. */
export function activeCheckOf(entry: Entry, config: Config): ActiveCheckSettings | undefined {
  const value = section(config.health_check, entry.health_check, true);
  if (!value) return undefined;
  const intervalMs = value.interval ?? DEFAULT_ACTIVE_CHECK.intervalMs;
  return {
    path: value.path ?? DEFAULT_ACTIVE_CHECK.path,
    intervalMs,
    timeoutMs: value.timeout ?? DEFAULT_ACTIVE_CHECK.timeoutMs,
    expectedStatus: value.expected_status ?? DEFAULT_ACTIVE_CHECK.expectedStatus,
    healthyThreshold: value.healthy_threshold ?? DEFAULT_ACTIVE_CHECK.healthyThreshold,
    unhealthyThreshold: value.unhealthy_threshold ?? DEFAULT_ACTIVE_CHECK.unhealthyThreshold,
    jitterMs: value.jitter ?? Math.round(intervalMs / 10),
  };
}

/** The route's passive health, defaults filled in; undefined when switched off. */
export function passiveHealthOf(entry: Entry, config: Config): PassiveHealthSettings | undefined {
  const value = section(config.passive_health, entry.passive_health, true);
  if (!value) return undefined;
  const cooldownMs = value.cooldown ?? DEFAULT_PASSIVE_HEALTH.cooldownMs;
  return {
    failures: value.failures ?? DEFAULT_PASSIVE_HEALTH.failures,
    statuses: value.statuses ? new Set(value.statuses) : DEFAULT_PASSIVE_HEALTH.statuses,
    cooldownMs,
    maxCooldownMs: Math.max(cooldownMs, value.max_cooldown ?? DEFAULT_PASSIVE_HEALTH.maxCooldownMs),
  };
}

/** The route's retry rules; `retries: false` gives zero attempts. */
export function retriesOf(entry: Entry, config: Config): RetrySettings {
  const value = section(config.retries, entry.retries, true);
  if (!value) return { ...DEFAULT_RETRIES, attempts: 0 };
  return {
    attempts: value.attempts ?? DEFAULT_RETRIES.attempts,
    on: value.on ? new Set(value.on) : DEFAULT_RETRIES.on,
    budgetRatio: value.budget_ratio ?? DEFAULT_RETRIES.budgetRatio,
    budgetMinPerSecond: value.budget_min_per_second ?? DEFAULT_RETRIES.budgetMinPerSecond,
    maxBufferedBody: value.max_buffered_body ?? DEFAULT_RETRIES.maxBufferedBody,
  };
}

/** The route's sticky-session cookie, or undefined for none. */
export function stickyOf(entry: Entry, config: Config): StickySettings | undefined {
  const value = section(config.sticky, entry.sticky, false);
  if (!value) return undefined;
  return { cookie: value.cookie ?? 'switchyard_backend', maxAgeMs: value.max_age };
}

/**
 * The route's TLS toward its `https://` servers, the top level's `tls` laid under the route's field
 * by field, file names taken from beside the config file. Without `servername`, each backend's own
 * host is the name (`tlsFor`).
 */
export function backendTlsOf(entry: Entry, config: Config, configFile: string | undefined): Omit<UpstreamTls, 'servername'> & { readonly servername?: string } {
  const value = section(config.tls, entry.tls, true) ?? {};
  const file = (name: string | undefined) => name && besideConfigFile(configFile, name);
  return { servername: value.servername, verify: value.verify ?? true, ca: file(value.ca), cert: file(value.cert), key: file(value.key) };
}

/** How the route's servers are spoken to: the route's `protocol`, else the top level's, else `http1`. */
export function protocolOf(entry: Entry, config: Config): UpstreamProtocol {
  return entry.protocol ?? config.protocol ?? 'http1';
}

/**
 * A backend's TLS settings: the route's, with the host of its URL as the name when the route gives
 * none. That name, not the client's Host, is checked: a client could pick the name a certificate
 * is checked against otherwise.
 */
export function tlsFor(origin: string, settings: ReturnType<typeof backendTlsOf>): UpstreamTls {
  return { ...settings, servername: settings.servername ?? new URL(origin).hostname.replace(/^\[|\]$/g, '') };
}

/** A comparable form of TLS settings, to catch two routes that disagree about one backend. */
export function tlsSettingsKey(tls: UpstreamTls | undefined): string {
  return tls ? JSON.stringify([tls.servername, tls.verify, tls.ca, tls.cert, tls.key]) : '';
}

/** A comparable form of a backend's health settings, to catch two routes that disagree about one backend. */
export function healthSettingsKey(active: ActiveCheckSettings | undefined, passive: PassiveHealthSettings | undefined): string {
  return JSON.stringify({ active, passive: passive && { ...passive, statuses: [...passive.statuses].sort() } });
}
