/** Where a backend lives: its origin and an optional base path prefixed to every forwarded path. */
export interface ServerAddress {
  /** `http://host:port` with a lower-case host; IPv6 hosts in brackets. */
  origin: string;
  /** `''` or a path without a trailing slash, such as `/api`. */
  basePath: string;
}

const BARE_HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

/**
 * Parses a `servers` entry: `host:port` or `http(s)://host[:port][/base]`.
 * Returns a message instead when the text is not a usable address.
 */
export function parseServerAddress(text: string): ServerAddress | string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return parseServerUrl(text);
  const match = HOST_PORT.exec(text);
  if (!match && BARE_HOST.test(text)) return `"${text}" has no port: write "${text}:PORT", or "http://${text}" for port 80`;
  if (!match) return `"${text}" is not host:port or an http(s) URL`;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return `"${text}" has port ${match[2]}, outside 1-65535`;
  // Through URL, so `localhost:80` and `http://localhost:80` are one backend, not two.
  return { origin: new URL(`http://${match[1]}:${port}`).origin, basePath: '' };
}

function parseServerUrl(text: string): ServerAddress | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a valid URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `"${text}" uses ${url.protocol.slice(0, -1)}; only http and https are supported`;
  }
  if (url.username || url.password) return `"${text}" carries credentials; use header_rules instead`;
  if (url.search || url.hash) return `"${text}" has a query or fragment, which a server address cannot have`;
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}
