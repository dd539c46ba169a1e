import type { ServerAddress } from '../config/serverAddress.ts';
import { HealthState } from '../health/HealthState.ts';

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

  constructor(address: ServerAddress, health: HealthState = new HealthState()) {
    this.origin = address.origin;
    this.basePath = address.basePath;
    this.id = address.origin + address.basePath;
    this.health = health;
  }

  /** Not down by active checks and not ejected by passive health. */
  get healthy(): boolean {
    return this.health.isUp && !this.health.isEjected;
  }

  /** Forces the backend up or down by hand (tests, an admin endpoint), as if its checks said so. */
  set healthy(value: boolean) {
    this.health.force(value ? 'up' : 'down');
  }
}
