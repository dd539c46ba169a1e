import { HealthState } from '../health/HealthState.ts';
import type { UpstreamProtocol, UpstreamTls } from '../Upstream.ts';

/** Where a backend lives (the config's `ServerAddress` has this shape). */
export interface BackendAddress {
  /** `http://host:port`. */
  readonly origin: string;
  /** `''` or a path without a trailing slash, prefixed to every forwarded path. */
  readonly basePath: string;
}

/**
 * One backend server. A backend named by several routes is one object, so its health and its
 * in-flight count are shared by every route that uses it.
 */
export class Backend {
  /** `origin` plus `basePath`: the identity used to share a backend between routes, and across reloads. */
  readonly id: string;
  /**
   * How operators name it (access log, metrics, status page, admin API): the id without a leading
   * `http://`, such as `localhost:8081`; an `https://` backend keeps its scheme.
   */
  readonly name: string;
  readonly origin: string;
  readonly basePath: string;
  /** How it is spoken to over TLS: set for an `https://` backend only. */
  readonly tls: UpstreamTls | undefined;
  /** How it is spoken to: HTTP/1.1, HTTP/2 over TLS, or cleartext HTTP/2 (a pool's `protocol`). */
  readonly protocol: UpstreamProtocol;
  /** Active and passive health; decides whether the backend may be picked. Taken over from the config before on reload. */
  health: HealthState;
  /** Set at run time (admin API): picked no more, while requests in flight finish and probes go on. */
  draining = false;
  /** A weight set at run time (admin API) for every pool the backend is in; undefined for the config's. */
  weight: number | undefined = undefined;
  /** Shared with the same backend of the config before a reload, so in-flight counts stay true across it. */
  #load = { inFlight: 0 };

  constructor(address: BackendAddress, health: HealthState = new HealthState(), tls?: UpstreamTls, protocol: UpstreamProtocol = 'http1') {
    this.origin = address.origin;
    this.basePath = address.basePath;
    this.tls = tls;
    this.protocol = protocol;
    this.id = address.origin + address.basePath;
    this.name = this.id.startsWith('http://') ? this.id.slice('http://'.length) : this.id;
    this.health = health;
  }

  /** Requests sent and not yet answered in full (until the response body is sent or cancelled). */
  get inFlight(): number {
    return this.#load.inFlight;
  }

  set inFlight(count: number) {
    this.#load.inFlight = count;
  }

  /** Whether the backend may be picked at `now`: not drained, not down by active checks and not ejected by passive health. */
  isHealthy(now: number): boolean {
    return !this.draining && this.health.isUp && !this.health.isEjected(now);
  }

  /**
   * Takes over what is known of the same backend under the config before a reload: its requests
   * in flight, and its health (verdict, ejection, counts) when it is checked the same way. Drains
   * and weights set at run time are not taken over: a reload applies the file as written.
   * @returns whether the health was taken over (else this backend starts unknown, to be probed)
   */
  adopt(previous: Backend, sameHealthSettings: boolean): boolean {
    this.#load = previous.#load;
    if (sameHealthSettings) this.health = previous.health;
    return sameHealthSettings;
  }
}
