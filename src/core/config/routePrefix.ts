import { normalizeConfigPath } from '../path/normalizeConfigPath.ts';

/**
 * A `path` from the config as prefixes are compared: normalised as requests are, without a
 * trailing slash (`/` stays `/`). Undefined when it cannot be normalised (reported elsewhere).
 */
export function routePrefix(path: string): string | undefined {
  const normal = normalizeConfigPath(path);
  if (normal === undefined) return undefined;
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** Whether `path` is `prefix` or lies under it on a segment boundary (`/a/b` under `/a`, not `/ab`). */
export function isUnder(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
}
