import type { Upstream } from '../Upstream.ts';
import type { CheckedBackend } from './CheckedBackend.ts';
import { describeHealthEvent } from './describeHealthEvent.ts';
import { probeBackend, type Timers } from './probeBackend.ts';

export interface HealthCheckOptions {
  /** Sends the probes; the same client the balancer forwards with. */
  readonly upstream: Upstream;
  /** Receives one line per health change (down, up, ejected, back). */
  readonly log: (line: string) => void;
  /** Random source in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
  /** @default globalThis.setTimeout and clearTimeout */
  readonly timers?: Timers;
  /**
   * Whether probes repeat on timers. `false` where timers do not outlive a request (Workers):
   * the caller runs `probeAll()` itself, from a `scheduled` handler. @default true
   */
  readonly schedule?: boolean;
}

/** Running health checks. */
export interface HealthChecks {
  /** Clears every timer and stops logging. Probes already sent are left to finish, unrecorded. */
  stop(): void;
  /**
   * Runs one round of probes for every backend with active checks and resolves when all have
   * answered or timed out. A backend whose probe is already under way is not probed twice.
   */
  probeAll(): Promise<void>;
}

/**
 * Starts one prober per backend with active checks (each backend once, however many routes name
 * it), and logs every health change of every backend. The first timed probe comes one interval
 * after start: run `probeAll()` once before serving, so no request meets a dead backend.
 * @example
 * const checks = startHealthChecks(config.backends, { upstream, log: console.error });
 * await checks.probeAll();
 */
export function startHealthChecks(backends: readonly CheckedBackend[], options: HealthCheckOptions): HealthChecks {
  const timers: Timers = options.timers ?? { setTimeout: (f, ms) => globalThis.setTimeout(f, ms), clearTimeout: (h) => globalThis.clearTimeout(h as number) };
  const random = options.random ?? Math.random;
  const scheduled = new Map<CheckedBackend, unknown>();
  const running = new Map<CheckedBackend, Promise<void>>();
  let stopped = false;

  const unsubscribe = backends.map((backend) =>
    backend.health.subscribe((event) => {
      // A backend found up at start is what everyone expects; only news is logged.
      if (event.kind === 'up' && event.first) return;
      options.log(describeHealthEvent(backend, event));
    }),
  );
  const checked = backends.filter((backend) => backend.health.active);

  const probe = (backend: CheckedBackend): Promise<void> => {
    const settings = backend.health.active!;
    let promise = running.get(backend);
    if (!promise) {
      promise = probeBackend(backend, settings, options.upstream, timers)
        .then((result) => {
          if (!stopped) backend.health.recordProbe(result.passed, result.reason);
        })
        .finally(() => running.delete(backend));
      running.set(backend, promise);
    }
    return promise;
  };

  const schedule = (backend: CheckedBackend): void => {
    if (stopped || options.schedule === false) return;
    const settings = backend.health.active!;
    const delay = settings.intervalMs + Math.floor(random() * settings.jitterMs);
    scheduled.set(
      backend,
      timers.setTimeout(() => void probe(backend).then(() => schedule(backend)), delay),
    );
  };

  for (const backend of checked) schedule(backend);

  return {
    stop() {
      stopped = true;
      for (const handle of scheduled.values()) timers.clearTimeout(handle);
      scheduled.clear();
      for (const off of unsubscribe) off();
    },
    async probeAll() {
      await Promise.all(checked.map(probe));
    },
  };
}
