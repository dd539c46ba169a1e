import { timingSafeEqual } from 'hono/utils/buffer';

/**
 * Whether an `Authorization` header carries the admin token: as a bearer token, or as basic
 * auth's password (any user), which a browser sends when the admin listener asks for it (on
 * Workers nothing asks: docs/runtimes.md). Compared in constant time.
 */
export async function carriesToken(authorization: string | undefined, token: string): Promise<boolean> {
  const [scheme = '', credentials = ''] = (authorization ?? '').split(' ', 2);
  let given: string | undefined;
  if (scheme.toLowerCase() === 'bearer') given = credentials;
  else if (scheme.toLowerCase() === 'basic') {
    try {
      const decoded = atob(credentials);
      given = decoded.slice(decoded.indexOf(':') + 1);
    } catch {
      return false;
    }
  }
  return given !== undefined && (await timingSafeEqual(given, token));
}
