import type { HeaderFields } from './http/HeaderFields.ts';
import type { Pool } from './pool/Pool.ts';
import type { Timeouts, WebWire, Wire } from './Upstream.ts';
import type { Answer } from './Answer.ts';
import type { Mirror } from './proxy/Mirror.ts';

/** One request on its way through the balancer: what is known of it before it is forwarded. */
export interface Exchange {
  readonly method: string;
  /** The client's header fields, as it sent them (read only). */
  readonly headers: HeaderFields;
  /** How the client spoke to the balancer. */
  readonly scheme: 'http' | 'https';
  /** The client's address as the balancer believes it (the connection's peer, or a trusted proxy's word). */
  readonly clientAddress: string | undefined;
  /** The Host header as the client sent it. */
  readonly host: string | undefined;
  /** The normalised path, before any rewrite. */
  readonly path: string;
  /** The raw query string including `?`, or `''`. */
  readonly query: string;
  /** The id sent upstream and back in `X-Request-Id`, and logged. */
  readonly requestId: string;
  readonly route: Route;
}

/** The request as it leaves the balancer, before a backend is chosen. */
export interface OutgoingRequest<W extends Wire = WebWire> {
  readonly method: string;
  /** Normalised (and possibly rewritten) path, without the backend's base path. */
  path: string;
  /** Raw query string including its `?`, or `''`. */
  query: string;
  readonly headers: HeaderFields;
  readonly body: W['body'] | null;
}

/** Decides before forwarding: returns an answer to refuse the request (403, 429), or undefined to let it pass. */
export type Guard = (exchange: Exchange) => Answer | undefined;

/** Changes the outgoing request (headers, query, path) before it is forwarded. */
export type RequestRewrite = (exchange: Exchange, outgoing: OutgoingRequest<Wire>) => void;

/** Changes the response headers before they reach the client. */
export type ResponseRewrite = (exchange: Exchange, headers: HeaderFields) => void;

/** A compiled route: where matching requests go and what happens to them on the way. */
export interface Route {
  /** How logs and error bodies name the route, such as `www.mango.com` or `/mango`. */
  readonly name: string;
  /** The `host` it serves, as written; undefined for a path-only route. */
  readonly host: string | undefined;
  /** The path prefix it serves, as written (`/` when none is). */
  readonly path: string;
  readonly pool: Pool;
  readonly timeouts: Timeouts;
  /** Whether `TRACE` is let through: only where a `method_allow` names it (it echoes the request, cookies included). */
  readonly allowsTrace: boolean;
  /** Run in order; the first refusal wins. */
  readonly guards: readonly Guard[];
  readonly requestRewrites: readonly RequestRewrite[];
  readonly responseRewrites: readonly ResponseRewrite[];
  /** `mirror`: where a copy of a share of the requests goes; undefined for none. */
  readonly mirror?: Mirror;
}
