import { HealthState } from '../health/HealthState.ts';

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
  /** `origin` plus `basePath`: the identity used to share a backend between routes. */
  readonly id: string;
  readonly origin: string;
  readonly basePath: string;
  /** Requests sent and not yet answered in full (until the response body is sent or cancelled). */
  inFlight = 0;
  /** Active and passive health; decides whether the backend may be picked. */
  readonly health: HealthState;

  constructor(address: BackendAddress, health: HealthState = new HealthState()) {
    this.origin = address.origin;
    this.basePath = address.basePath;
    this.id = address.origin + address.basePath;
    this.health = health;
  }

  /** Whether the backend may be picked at `now`: not down by active checks and not ejected by passive health. */
  isHealthy(now: number): boolean {
    return this.health.isUp && !this.health.isEjected(now);
  }
}
