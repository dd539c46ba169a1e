import type { UpstreamProtocol, UpstreamTls } from '../Upstream.ts';
import type { HealthState } from './HealthState.ts';

/** A backend as health checks see it: where to probe, what to call it in a log line, and its health. */
export interface CheckedBackend {
  /** Names the backend in log lines. */
  readonly id: string;
  readonly origin: string;
  /** Prefixed to the probe's path. */
  readonly basePath: string;
  /** Probes speak TLS to it as requests do. */
  readonly tls?: UpstreamTls;
  /** Probes speak the protocol requests do (an h2c backend may answer nothing else). */
  readonly protocol?: UpstreamProtocol;
  readonly health: HealthState;
}
