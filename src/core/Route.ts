import type { HeaderFields } from './http/HeaderFields.ts';
import type { Pool } from './pool/Pool.ts';
import type { Split } from './pool/Split.ts';
import type { BodyHandling, Timeouts, Upstream, WebWire, Wire } from './Upstream.ts';
import type { Answer } from './Answer.ts';
import type { ErrorLog } from './ErrorLog.ts';
import type { RouteMatch } from './routing/RouteMatch.ts';
import type { CompressSettings } from './compress/CompressSettings.ts';
import type { Mirror } from './pool/Mirror.ts';
import type { RateLimitStore, SharedBucket } from './RateLimitStore.ts';

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
  /** Replaced where a gate watches it (`max_request_body` counts it as it streams). */
  body: W['body'] | null;
  /** Set by `max_request_body`: once `exceeded`, a failed upload is the client's doing, answered 413. */
  bodyLimit?: BodyLimit;
}

/** A request body's bound in bytes, and whether the body went past it while it streamed. */
export interface BodyLimit {
  readonly bytes: number;
  exceeded: boolean;
}

/** Where a rule is written: `top level`, or the route's place, such as `hosts[0]`. */
export type RuleLevel = string;

/**
 * A rate limit kept in a store (compileRateLimit): the bucket a request takes from, and the answer once the store
 * has told its wait. The store is asked for every shared limit of a request at once (`admit`).
 */
export interface SharedLimit {
  readonly store: RateLimitStore;
  bucket(exchange: Exchange): SharedBucket;
  /** The answer for `wait` from the store; undefined (the store could not answer): this instance's fallback bucket's. */
  answer(bucket: SharedBucket, wait: number | undefined): Answer | undefined;
}

/** Decides before forwarding whether a request goes on: a route's firewall (403) or its rate limit (429). */
export interface Guard {
  readonly rule: 'firewall_rules' | 'rate_limit';
  readonly level: RuleLevel;
  /** What it checks, in words: the firewall's checks (`ip_reject, path_reject`), the rate limit's policy. */
  readonly summary: string;
  /**
   * Returns an answer to refuse the request, or undefined to let it pass. Dry (`explain`), it
   * changes nothing: the rate limit looks at the client's bucket and takes no token.
   */
  check(exchange: Exchange, dry?: boolean): Answer | undefined;
  /**
   * Set where the verdict lives elsewhere (a rate limit shared through `store`): asked instead of
   * `check` for a real request, its verdict awaited by `forwardAdmitted`, so the request still
   * has one path. `check` then answers only `explain`, which spends nothing.
   */
  readonly shared?: SharedLimit;
}

/**
 * One request rule: changes the outgoing request (headers, query, path, upstream Host) before it is
 * forwarded. `identity_headers` is no key of its own: the removal, on every route, of the headers
 * a gate of the config names the user in (docs/edge-middleware.md).
 */
export interface RequestRewrite {
  readonly rule: 'identity_headers' | 'header_rules' | 'param_rules' | 'rewrite_rules' | 'upstream_host';
  readonly level: RuleLevel;
  apply(exchange: Exchange, outgoing: OutgoingRequest<Wire>): void;
}

/** Changes the response headers before they reach the client. */
export type ResponseRewrite = (exchange: Exchange, headers: HeaderFields) => void;

/**
 * Where a route's requests go: a pool (its own `servers`, or a named `pool`), a `split` between
 * named pools, or the route's own answer (`redirect`, `respond`), which no backend sees.
 */
export type RouteTarget =
  | { readonly kind: 'pool'; readonly pool: Pool }
  | { readonly kind: 'split'; readonly split: Split }
  | {
      readonly kind: 'answer';
      /** What the route answers, for logs and `explain`: `redirect` or `respond`. */
      readonly key: 'redirect' | 'respond';
      readonly status: number;
      readonly answer: (exchange: Exchange) => Answer;
    };

/** What a gate may use of the runtime: a plain HTTP client, the wire's bodies, the client's departure. */
export interface GateContext<W extends Wire = Wire> {
  /** Sends a plain HTTP request (never a WebSocket tunnel): `forward_auth` asks its service with it. */
  readonly subrequest: Upstream<W>;
  readonly bodies: BodyHandling<W>;
  readonly signal: W['signal'];
  /** Told why, for every 5xx a gate answers itself (the auth service down, too many password checks). */
  readonly errorLog: ErrorLog;
}

/** What a gate refuses with: the answer, and the reason the access log gives (`basic_auth: wrong password for alice`). */
export type GateAnswer<W extends Wire = Wire> = Answer<W['body']> & { readonly cause?: string };

/**
 * An edge middleware, run after the guards and before the forward, in the route's order: `cors`
 * (its preflight), `basic_auth`, `forward_auth`, `max_request_body` (docs/edge-middleware.md).
 */
export interface Gate {
  /** The config key it comes from; `RequestRecord.refusedBy` when it refuses. */
  readonly name: 'cors' | 'basic_auth' | 'forward_auth' | 'max_request_body';
  /**
   * The request headers it sets to name the client's identity (`user_header`, forward_auth's
   * `response_headers`), lower case: a client's own copies are removed wherever they could reach
   * the backends it guards (config/identityHeaders.ts).
   */
  readonly identityHeaders?: readonly string[];
  /** Whether it lets the client's own `Authorization` through, checked (`forward_authorization`). */
  readonly forwardsAuthorization?: boolean;
  /**
   * Answers the request itself (a preflight, 401, 413, the auth service's refusal), or lets it
   * through, possibly changed (headers copied from the auth service, the body watched).
   */
  pass<W extends Wire>(exchange: Exchange, outgoing: OutgoingRequest<W>, context: GateContext<W>): GateAnswer<W> | undefined | Promise<GateAnswer<W> | undefined>;
  /** Fields it adds to whatever answer the request gets past it (a backend's, or a later gate's refusal): CORS's. */
  respond?(exchange: Exchange, headers: HeaderFields): void;
  /**
   * What `pass` would do, said without doing it (`explain`): nothing sent, no password checked,
   * no verdict remembered, the body untouched.
   */
  foresee(exchange: Exchange, outgoing: OutgoingRequest<Wire>): GateForecast;
}

/**
 * A gate's forecast: it lets the request through, answers it itself (with this status), or asks
 * something `explain` does not (the auth service, a password check) whose answer decides.
 */
export type GateForecast =
  | { readonly verdict: 'passes'; readonly why: string }
  | { readonly verdict: 'answers'; readonly status: number; readonly why: string }
  | { readonly verdict: 'asks'; readonly why: string };

/** A compiled route: where matching requests go and what happens to them on the way. */
export interface Route {
  /** How logs and error bodies name the route, such as `www.mango.com` or `/mango`. */
  readonly name: string;
  /** Where the config writes it, such as `hosts[0]` (`explain` names it). */
  readonly at: string;
  /** The `host` it serves, as written; undefined for a path-only route. */
  readonly host: string | undefined;
  /** The path prefix it serves, as written (`/` when none is). */
  readonly path: string;
  /** The conditions on the request it serves (`match`); undefined when it serves any. */
  readonly match: RouteMatch | undefined;
  readonly target: RouteTarget;
  /** Every pool the route may send to (one, a split's sides, or none for an own answer); named pools are shared with other routes. */
  readonly pools: readonly Pool[];
  readonly timeouts: Timeouts;
  /** Whether `TRACE` is let through: only where a `method_allow` names it (it echoes the request, cookies included). */
  readonly allowsTrace: boolean;
  /** Run in order; the first refusal wins. */
  readonly guards: readonly Guard[];
  /** Run in order, each on the outgoing request as the one before left it. */
  readonly requestRewrites: readonly RequestRewrite[];
  readonly responseRewrites: readonly ResponseRewrite[];
  /**
   * `hsts`, the route's or the top level's (also among `responseRewrites`): the one response rule
   * a refusal gets too (firewall, rate limit, gates), since a 401 over HTTPS should pin HTTPS as
   * any answer does. Undefined when off.
   */
  readonly hsts?: ResponseRewrite;
  /** `compress`, the route's or the top level's; undefined when off. */
  readonly compress: CompressSettings | undefined;
  /** Run in order after the guards, each awaited; the first answer wins. */
  readonly gates: readonly Gate[];
  /** `mirror`: where a copy of a share of the requests goes; undefined for none. */
  readonly mirror?: Mirror;
}
