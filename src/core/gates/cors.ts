import * as answers from '../answers.ts';
import { FieldList } from '../http/FieldList.ts';
import type { HeaderFields } from '../http/HeaderFields.ts';
import type { Exchange, Gate, GateAnswer } from '../Route.ts';
import { addVary } from '../http/vary.ts';

/** A route's `cors`, compiled. */
export interface CorsSettings {
  /** `*`, or the origins allowed: exact (`https://app.example.com`) and wildcard (`https://*.example.com`). */
  readonly origins: '*' | readonly string[];
  readonly methods: readonly string[];
  /** The request headers a preflight allows; undefined echoes those it asks for. */
  readonly headers?: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly credentials: boolean;
  /** In seconds; undefined sends none. */
  readonly maxAge?: number;
}

export const DEFAULT_CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Whether a request's `Origin` is allowed: compared as the browser serialises it (scheme, host,
 * port; RFC 6454 section 6.1), without case. `https://*.example.com` allows every name under
 * example.com over https, not example.com itself.
 */
export function originAllowed(origin: string, allowed: CorsSettings['origins']): boolean {
  if (allowed === '*') return true;
  const asked = origin.toLowerCase();
  return allowed.some((pattern) => {
    const wildcard = pattern.indexOf('://*.');
    if (wildcard < 0) return pattern.toLowerCase() === asked;
    const scheme = pattern.slice(0, wildcard + 3).toLowerCase();
    const suffix = pattern.slice(wildcard + 4).toLowerCase();
    return asked.startsWith(scheme) && asked.endsWith(suffix) && asked.length > scheme.length + suffix.length && !asked.slice(scheme.length, -suffix.length).includes('/');
  });
}

/**
 * `cors` (the Fetch standard's CORS protocol): a preflight (OPTIONS with `Origin` and
 * `Access-Control-Request-Method`) is answered 204 at the edge, never forwarded, or 403 without any
 * `Access-Control-Allow-*` when the origin is not allowed. Every other answer past this gate, a
 * backend's or a later gate's refusal (so a page's script can read a 401), gets the
 * `Access-Control-Allow-*` fields for the request's origin, replacing any a backend sent.
 */
export function corsGate(settings: CorsSettings): Gate {
  const echoesOrigin = settings.origins !== '*' || settings.credentials;
  const methods = settings.methods.join(', ');
  const allowedHeaders = settings.headers?.join(', ');
  const exposed = settings.exposeHeaders.join(', ');

  const allowOrigin = (headers: HeaderFields, origin: string) => {
    headers.set('access-control-allow-origin', echoesOrigin ? origin : '*');
    if (settings.credentials) headers.set('access-control-allow-credentials', 'true');
  };

  /** The preflight's answer, or undefined for any other request. */
  const preflight = (exchange: Exchange): GateAnswer | undefined => {
    const origin = exchange.headers.get('origin');
    if (exchange.method !== 'OPTIONS' || origin === null || !exchange.headers.has('access-control-request-method')) return undefined;
    if (!originAllowed(origin, settings.origins)) {
      const refusal = answers.originForbidden(`cors: preflight from origin ${JSON.stringify(origin.slice(0, 200))}, which is not allowed`);
      if (echoesOrigin) addVary(refusal.headers, 'origin');
      return refusal;
    }
    const headers = new FieldList();
    allowOrigin(headers, origin);
    headers.set('access-control-allow-methods', methods);
    const askedHeaders = exchange.headers.get('access-control-request-headers');
    const allowHeaders = allowedHeaders ?? askedHeaders;
    if (allowHeaders) headers.set('access-control-allow-headers', allowHeaders);
    if (settings.maxAge !== undefined) headers.set('access-control-max-age', String(settings.maxAge));
    if (echoesOrigin) addVary(headers, 'origin');
    if (allowedHeaders === undefined && askedHeaders !== null) addVary(headers, 'access-control-request-headers');
    return { status: 204, headers, body: null };
  };

  return {
    name: 'cors',
    pass: preflight,
    foresee(exchange) {
      const answer = preflight(exchange);
      const origin = exchange.headers.get('origin');
      if (answer) return { verdict: 'answers', status: answer.status, why: answer.cause ?? `a preflight from origin ${JSON.stringify(origin)}, allowed: answered at the edge` };
      if (origin === null) return { verdict: 'passes', why: 'no Origin: not a cross-origin request' };
      const allowed = originAllowed(origin, settings.origins);
      return { verdict: 'passes', why: `origin ${JSON.stringify(origin.slice(0, 200))} ${allowed ? 'allowed: the answer gets Access-Control-Allow-Origin' : 'not allowed: the answer gets no Access-Control-Allow-* fields'}` };
    },
    respond(exchange: Exchange, headers: HeaderFields): void {
      // The answer depends on Origin even when the request had none: a cache must not hand the
      // answer without the fields to a page that sends one (Fetch standard, "CORS protocol and HTTP caches").
      if (echoesOrigin) addVary(headers, 'origin');
      const origin = exchange.headers.get('origin');
      if (origin === null || !originAllowed(origin, settings.origins)) {
        headers.delete('access-control-allow-origin');
        headers.delete('access-control-allow-credentials');
        return;
      }
      allowOrigin(headers, origin);
      if (exposed) headers.set('access-control-expose-headers', exposed);
    },
  };
}
