import { FieldList } from './FieldList.ts';
import type { HeaderFields } from './HeaderFields.ts';
import { TOKEN } from '../httpToken.ts';

/**
 * Header fields that describe one connection, not the message, and so are never forwarded
 * (RFC 9110 section 7.6.1, plus the non-standard `proxy-connection` and `keep-alive`).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Whether a lower-case header name is hop-by-hop on its own, without looking at `Connection`. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/**
 * Removes hop-by-hop fields from `headers`, including every field the `Connection` header names
 * (RFC 9110 section 7.6.1). Changes `headers` in place.
 */
export function removeHopByHop(headers: HeaderFields): void {
  const connection = headers.get('connection');
  // Only a token can name a field (RFC 9110 section 5.1); anything else names nothing to remove.
  // Host is never the connection's to remove: a client naming it would send the backend a request
  // for no host (or, without its Host, for the backend's own), past host-based rules.
  const named = new Set(connection ? connection.split(',').map((name) => name.trim().toLowerCase()).filter((name) => TOKEN.test(name) && name !== 'host') : []);
  const isDoomed = (name: string) => HOP_BY_HOP.has(name) || named.has(name);
  // One pass, however many fields Connection names: a delete per name would read every field per name.
  if (headers instanceof FieldList) return headers.deleteWhere(isDoomed);
  const doomed = new Set<string>();
  headers.forEach((_, name) => {
    if (isDoomed(name)) doomed.add(name);
  });
  for (const name of doomed) headers.delete(name);
}
