import { normalizePath } from './normalizePath.ts';

/**
 * Brings a path written in the config (`/naïve`, `/caf%c3%a9`, `/a/./b`) into the form requests
 * are compared in: characters a request-target cannot carry raw (non-ASCII, spaces, controls) are
 * percent-encoded as UTF-8, as clients send them (RFC 3986 section 2.5), then the path is
 * normalised like a request's. Without the first step `/naïve` could never match a request.
 * @returns undefined when the path cannot be normalised (or holds a lone surrogate)
 */
export function normalizeConfigPath(text: string): string | undefined {
  let encoded: string;
  try {
    encoded = text.replace(/[^\x21-\x7e]/gu, (char) => encodeURIComponent(char));
  } catch {
    return undefined;
  }
  return normalizePath(encoded);
}
