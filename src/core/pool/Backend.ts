import type { ServerAddress } from '../config/serverAddress.ts';

/**
 * One backend server. A backend named by several routes is one object, so its health and its
 * in-flight count are shared by every route that uses it.
 */
export class Backend {
  /** `origin` plus `basePath`: the identity used to share a backend between routes. */
  readonly id: string;
  readonly origin: string;
  readonly basePath: string;
  /** Requests sent and not yet answered in full. */
  inFlight = 0;
  /** Whether the backend may be picked; health checks change it. */
  healthy = true;

  constructor(address: ServerAddress) {
    this.origin = address.origin;
    this.basePath = address.basePath;
    this.id = address.origin + address.basePath;
  }
}
