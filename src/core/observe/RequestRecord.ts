import type { Backend } from '../pool/Backend.ts';
import type { Route } from '../Route.ts';

/** Why the balancer refused a request its route's guards or gates looked at (the metrics count the first two; the access log's `error` names the others). */
export type Refusal = 'firewall' | 'rate_limit' | 'cors' | 'basic_auth' | 'forward_auth' | 'max_request_body';

/** One try of a backend: who, and the status it answered (undefined until and unless it does). */
export interface Attempt {
  readonly backend: Backend;
  status: number | undefined;
  /** The client went away before the backend answered: not the backend's failure. */
  clientGone?: boolean;
}

/**
 * What the access log, the metrics and the status page learn of one request, filled in as it goes:
 * the runtime's handler makes it when the request arrives, `admit` adds where it goes, `forward`
 * what the backends did, and the handler, once the answer is sent, the status and the bytes.
 * Plain fields, so keeping one costs a request nothing it would notice.
 */
export class RequestRecord {
  /** Wall clock at arrival, in ms since the epoch: the log's `time`. */
  readonly startedAt: number;
  /** Monotonic clock at arrival, in ms: the start of `durationMs`. */
  readonly started: number;
  method = '';
  /** The Host header as sent; undefined without one. */
  host: string | undefined = undefined;
  /** The normalised path once admit got that far, the path as sent before. */
  path = '';
  /** The raw query including `?`, or `''`. */
  query = '';
  /** The client's address as the balancer believes it (trusted proxies applied). */
  client: string | undefined = undefined;
  /** `X-Request-Id`: the client's when it sent a valid one, else one made here; sent upstream and back. */
  requestId = '';
  route: Route | undefined = undefined;
  /** The backends tried, in order; empty when none was (the balancer answered itself). */
  readonly attempts: Attempt[] = [];
  /** The balancer's own reason for a 4xx or 5xx it answered, such as `connect ECONNREFUSED 127.0.0.1:9081`. */
  error: string | undefined = undefined;
  refusedBy: Refusal | undefined = undefined;
  /** The status the client was sent; 499 when it went away before any was (as nginx logs it). */
  status = 0;
  /** Bytes of the response body handed to the client's connection, counted as they go. */
  bytesSent = 0;
  durationMs = 0;

  constructor(now: { wall: number; monotonic: number } = { wall: Date.now(), monotonic: performance.now() }) {
    this.startedAt = now.wall;
    this.started = now.monotonic;
  }

  /** The backend that answered, or the last one tried. */
  get backend(): Backend | undefined {
    return this.attempts.at(-1)?.backend;
  }

  /** The status of the last backend's answer, when it gave one. */
  get upstreamStatus(): number | undefined {
    return this.attempts.at(-1)?.status;
  }

  /** Ends the record: the status sent, and how long it all took. */
  finish(status: number, now = performance.now()): void {
    this.status = status;
    this.durationMs = now - this.started;
  }
}

/** Told of every request once its answer has been sent (or the client has gone). */
export type RequestObserver = (record: RequestRecord) => void;
