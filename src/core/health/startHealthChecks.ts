import type { Upstream } from '../Upstream.ts';
import type { CheckedBackend } from './CheckedBackend.ts';
import { describeHealthEvent } from './describeHealthEvent.ts';
import type { HealthState } from './HealthState.ts';
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
  /**
   * Moves the checks to a reloaded config's backends: a backend whose health was taken over (the
   * same `HealthState`, `Backend.adopt`) keeps its prober and its timer; probers stop for
   * backends gone and start for backends new, and the promise resolves once each new one has
   * had its first probe, so the new config can be served without a request meeting a dead backend.
   */
  update(backends: readonly CheckedBackend[]): Promise<void>;
}

/** One backend's prober: keyed by its health, which a reload may hand from one backend object to the next. */
interface Prober {
  backend: CheckedBackend;
  timer: unknown;
  running: Promise<void> | undefined;
  readonly unsubscribe: () => void;
  stopped: boolean;
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
  const probers = new Map<HealthState, Prober>();

  const probe = (prober: Prober): Promise<void> => {
    prober.running ??= probeBackend(prober.backend, prober.backend.health.active!, options.upstream, timers)
      .then((result) => {
        if (!prober.stopped) prober.backend.health.recordProbe(result.passed, result.reason);
      })
      .finally(() => (prober.running = undefined));
    return prober.running;
  };

  const schedule = (prober: Prober): void => {
    if (prober.stopped || options.schedule === false) return;
    const settings = prober.backend.health.active!;
    const delay = settings.intervalMs + Math.floor(random() * settings.jitterMs);
    prober.timer = timers.setTimeout(() => void probe(prober).then(() => schedule(prober)), delay);
  };

  const start = (backend: CheckedBackend): Prober => {
    const prober: Prober = {
      backend,
      timer: undefined,
      running: undefined,
      stopped: false,
      unsubscribe: backend.health.subscribe((event) => {
        // A backend found up at start is what everyone expects; only news is logged.
        if (event.kind === 'up' && event.first) return;
        options.log(describeHealthEvent(prober.backend, event));
      }),
    };
    probers.set(backend.health, prober);
    if (backend.health.active) schedule(prober);
    return prober;
  };

  const end = (prober: Prober): void => {
    prober.stopped = true;
    if (prober.timer !== undefined) timers.clearTimeout(prober.timer);
    prober.unsubscribe();
  };

  const checked = () => [...probers.values()].filter((prober) => prober.backend.health.active);

  for (const backend of backends) if (!probers.has(backend.health)) start(backend);

  return {
    stop() {
      for (const prober of probers.values()) end(prober);
      probers.clear();
    },
    async probeAll() {
      await Promise.all(checked().map(probe));
    },
    async update(next) {
      const kept = new Set(next.map((backend) => backend.health));
      for (const [health, prober] of probers) {
        if (kept.has(health)) continue;
        end(prober);
        probers.delete(health);
      }
      const started: Prober[] = [];
      for (const backend of next) {
        const prober = probers.get(backend.health);
        if (prober) prober.backend = backend;
        else started.push(start(backend));
      }
      await Promise.all(started.filter((prober) => prober.backend.health.active).map(probe));
    },
  };
}
