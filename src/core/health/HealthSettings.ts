/** How a backend is actively probed. Durations in milliseconds. */
export interface ActiveCheckSettings {
  /** Probed with GET, appended to the backend's base path. */
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Inclusive `[low, high]` status ranges that count as healthy. */
  readonly expectedStatus: readonly (readonly [number, number])[];
  /** Passed probes in a row that bring a down backend back up (HAProxy's `rise`). */
  readonly healthyThreshold: number;
  /** Failed probes in a row that take an up backend down (HAProxy's `fall`). */
  readonly unhealthyThreshold: number;
  /** Up to this much is added at random to each interval, so probes do not march in step. */
  readonly jitterMs: number;
}

/** When real requests eject a backend (outlier detection). Durations in milliseconds. */
export interface PassiveHealthSettings {
  /** Failed requests in a row that eject the backend. */
  readonly failures: number;
  /** Response statuses that count as failures, besides connect errors, timeouts and resets. */
  readonly statuses: ReadonlySet<number>;
  /** The first ejection's length; each repeat doubles it. */
  readonly cooldownMs: number;
  /** The longest ejection; also how long a backend must stay clean before its next ejection is short again. */
  readonly maxCooldownMs: number;
}

/** The tutorial probes `GET /healthcheck` with a 1 s timeout; the rest follows HAProxy's defaults. */
export const DEFAULT_ACTIVE_CHECK: ActiveCheckSettings = {
  path: '/healthcheck',
  intervalMs: 5_000,
  timeoutMs: 1_000,
  expectedStatus: [[200, 399]],
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  jitterMs: 500,
};

export const DEFAULT_PASSIVE_HEALTH: PassiveHealthSettings = {
  failures: 5,
  statuses: new Set([502, 503, 504]),
  cooldownMs: 10_000,
  maxCooldownMs: 300_000,
};
