import type { HeaderFields } from '../http/HeaderFields.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';

/** Sets (or removes) the Host header the backend is sent. */
export type HostEdit = (headers: HeaderFields) => void;

const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Compiles `upstream_host`, the Host header the backend is sent (RFC 9110 section 7.2):
 * - `keep` (the default): as the client sent it, after `header_rules`;
 * - `backend`: the backend's own `host:port` from its `servers` entry, as the tutorial's
 *   `header_rules.remove.Host` does;
 * - anything else: that host name, such as `api.internal` or `api.internal:8443`.
 * The Node and Deno servers send it; on Workers `fetch` cannot override Host, so the backend's
 * own is sent there whatever this says.
 * @returns undefined for `keep`
 * @throws ConfigProblem for text that is not a host name
 */
export function compileUpstreamHost(value: string | undefined, at: readonly (string | number)[]): HostEdit | undefined {
  if (value === undefined || value === 'keep') return undefined;
  if (value === 'backend') return (headers) => headers.delete('host');
  const port = /:(\d+)$/.exec(value)?.[1];
  if (!HOST.test(value) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    throw new ConfigProblem(at, `${JSON.stringify(value)} is not keep, backend, or a host name with an optional port (1-65535)`);
  }
  return (headers) => headers.set('host', value);
}
