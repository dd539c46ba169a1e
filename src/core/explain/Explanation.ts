/**
 * What `switchyard explain` and `GET /api/explain` answer: what the balancer would do with one
 * request, step by step in the lifecycle's order, without sending it. The `--json` form is this
 * object as it is; its shape is documented in docs/routing.md ("Explain a request") and only grows.
 */
export interface Explanation {
  readonly request: {
    readonly method: string;
    /** The URL as given. */
    readonly url: string;
    /** The connection's peer (`--from`); null when not given. */
    readonly from: string | null;
    /** The client's address as the guards see it (after `trusted_proxies`). */
    readonly client: string | null;
    /** The header fields as sent, names lower case, Host first. */
    readonly headers: readonly (readonly [string, string])[];
  };
  /** The normalised path; null when the request was refused before (400, 414, 431...). */
  readonly path: string | null;
  /** The routes the table tried, in its precedence order, up to the one that serves the request. */
  readonly routes: readonly RouteConsidered[];
  /**
   * For a request no route serves (404): the config's other routes, in the order written (the
   * first 20), each with what it serves instead: `serves host www.mango.com, not mango.com`,
   * `serves path /api, which /apps is not under`. Empty when a route serves the request.
   */
  readonly other_routes: readonly RouteConsidered[];
  /** The route that serves the request (its name); null for none. */
  readonly route: string | null;
  readonly guards: readonly GuardVerdict[];
  readonly rules: readonly RuleApplied[];
  readonly gates: readonly GateVerdict[];
  /** Where the request goes, when it gets that far. */
  readonly target: TargetExplained | null;
  /** The route's `mirror`, where it has one. */
  readonly mirror: { readonly pool: string; readonly percent: number } | null;
  /** The route's `compress` in words, where it has one. */
  readonly compress: string | null;
  readonly verdict: Verdict;
}

export interface RouteConsidered {
  readonly route: string;
  /** Where the config writes it: `hosts[0]`, `paths[2]`. */
  readonly at: string;
  readonly matched: boolean;
  readonly why: string;
}

export interface GuardVerdict {
  readonly rule: 'firewall_rules' | 'rate_limit';
  /** `top level`, or the route's place. */
  readonly level: string;
  readonly passed: boolean;
  /** 403 or 429 when refused. */
  readonly status: number | null;
  readonly why: string;
}

/** One request rule, and what it changed: only the fields that differ before and after. */
export interface RuleApplied {
  readonly rule: 'identity_headers' | 'header_rules' | 'param_rules' | 'rewrite_rules' | 'upstream_host';
  readonly level: string;
  /** `header NAME`, `query`, `path`; before/after null for absent. */
  readonly changes: readonly { readonly field: string; readonly before: string | null; readonly after: string | null }[];
}

export interface GateVerdict {
  readonly gate: 'cors' | 'basic_auth' | 'forward_auth' | 'max_request_body';
  /** `passes`, `answers` (the balancer answers, with `status`), or `asks` (a service or a password check decides). */
  readonly verdict: 'passes' | 'answers' | 'asks';
  readonly status: number | null;
  readonly why: string;
}

export interface BackendExplained {
  readonly backend: string;
  readonly weight: number;
  /** `up`, `down`, `ejected`, `draining`, or `unknown` (not checked yet, or no health checks: counted as up). */
  readonly health: 'up' | 'down' | 'ejected' | 'draining' | 'unknown';
  /** Whether the pool would pick among it now. */
  readonly pickable: boolean;
}

export interface PoolExplained {
  /** The named pool's name; null for a route's own `servers`. */
  readonly pool: string | null;
  readonly algorithm: string;
  readonly backends: readonly BackendExplained[];
}

export type TargetExplained =
  | ({ readonly kind: 'pool' } & PoolExplained)
  | { readonly kind: 'split'; readonly sticky_cookie: string | null; readonly sides: readonly (PoolExplained & { readonly weight: number })[] }
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string }
  | { readonly kind: 'respond'; readonly status: number };

export interface Verdict {
  /** Whether the request would go to a backend (exit 0), or the balancer would answer it itself (exit 1). */
  readonly forwarded: boolean;
  /** The balancer's own answer; null when forwarded. */
  readonly status: number | null;
  readonly why: string;
  /** What is not known without asking: a forward_auth service, a password check. Empty when nothing is. */
  readonly provided: readonly string[];
}
