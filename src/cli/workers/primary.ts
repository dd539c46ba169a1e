import process from 'node:process';
import type { Worker } from 'node:cluster';
import { Counter } from 'prom-client';
import { formatIssue } from '../../core/config/ConfigError.ts';
import type { Environment } from '../../core/config/substituteEnv.ts';
import type { HealthState } from '../../core/health/HealthState.ts';
import { Metrics } from '../../admin/metrics.ts';
import { hostPort, startAdmin, type AdminAddress, type RunningAdmin } from '../../admin/startAdmin.ts';
import { LiveConfig, type ReloadReport } from '../../server/LiveConfig.ts';
import { checkSameListeners } from '../../server/startServer.ts';
import { SharedStores } from '../../store/SharedStores.ts';
import { loadRedisLink } from '../../store/loadRedisLink.ts';
import { shareHealth, storeStats } from '../../store/shareHealth.ts';
import { undiciUpstream } from '../../upstream/undiciUpstream.ts';
import { checkAdminReload } from '../adminReloadCheck.ts';
import { CommandFailure, listenFailure, readFailure } from '../CommandFailure.ts';
import { checkConfigFiles } from '../configChecks.ts';
import { configuredAdmin } from '../configuredAdmin.ts';
import { listenersFor, type ListenFlags } from '../startListeners.ts';
import { stopSignals } from '../stopSignals.ts';
import { watchConfig } from '../watchConfig.ts';
import { backendView } from './backendView.ts';
import { MachineCounts } from './MachineCounts.ts';
import type { ToPrimary, ToWorker } from './messages.ts';
import { WorkerSet } from './WorkerSet.ts';

export interface PrimaryOptions {
  readonly file: string;
  readonly workers: number;
  /** `--port` and `--hostname`, which replace the config's `listen`. */
  readonly listen: ListenFlags;
  readonly admin?: AdminAddress;
  readonly watch?: boolean;
  readonly env: Environment;
  readonly drainMs: number;
}

/**
 * The primary process of `serve --workers N`: reads the config and sends its text to every
 * worker (at start, and after SIGHUP, the admin API or `--watch`), runs the one health prober of
 * the machine and passes its verdicts on, passes each worker's ejections to the others, serves
 * the admin listener with every worker's counts merged, replaces a worker that crashes or cannot
 * take a reload, and on SIGTERM or SIGINT drains them all. Resolves with the exit code.
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { file } = options;
  const log = (line: string) => console.error(line);
  const probes = undiciUpstream();
  // `store`: the primary probes for the machine, so it is the one that shares health with the
  // fleet through Redis (the workers share rate limits, each on its own connection).
  const stores = new SharedStores((url, timeoutMs) => loadRedisLink(url, timeoutMs, log), log, { label: 'primary', servesRequests: false });
  const live = await LiveConfig.load(file, { env: options.env, log, probes, checkFiles: checkConfigFiles, stores }).catch(async (error: unknown) => {
    await stores.close();
    throw readFailure(error, file) ?? error;
  });
  for (const warning of live.config.warnings) log(formatIssue(warning));
  // The CA's TLS-ALPN-01 validation is a new connection, handed to any worker; only the one that
  // placed the order holds the challenge certificate (HTTP-01 answers are in the shared storage).
  const alpn = live.config.listeners.findIndex((listener) => listener.tls?.acme?.challenge === 'tls-alpn-01');
  if (alpn >= 0) {
    live.stop();
    await Promise.all([probes.close(), stores.close()]);
    throw new CommandFailure(`listen[${alpn}].tls.acme.challenge: tls-alpn-01 needs one process, and --workers ${options.workers} runs several: write challenge: http-01 (answered by every worker from the storage directory)`);
  }
  const adminAt = options.admin ?? configuredAdmin(live.config);
  // Called from Redis news only, which comes after an await: `workers` is set by then.
  const toWorkers = (backend: Parameters<typeof backendView>[0]) => workers.broadcast({ type: 'backend', backend: backendView(backend) });
  // News from other instances reaches the workers as any verdict of this primary does.
  const fleet = shareHealth(live, stores, { log, applied: toWorkers });
  // The primary's link is in the machine's switchyard_store_up (merged by min) and alone in switchyard_store_health_shared.
  const metrics = adminAt && new Metrics(() => live.config, { store: () => storeStats(stores, fleet) });
  const restarts = metrics && new Counter({ name: 'switchyard_worker_restarts_total', help: 'Workers restarted after they exited unasked (--workers).', registers: [metrics.registry] });
  metrics?.watch(live.config, live.loadedAt);

  const configMessage = (): ToWorker => ({ type: 'config', text: live.text, backends: live.config.backends.map((backend) => backendView(backend)), monitor: metrics !== undefined });
  let starting: { ready: (slot: number, urls: readonly string[]) => void; failed: (message: string) => void } | undefined;
  const received = (message: ToPrimary, worker: Worker, slot: number) => {
    if (message?.type === 'hello') worker.send(configMessage());
    else if (message?.type === 'ready') starting?.ready(slot, message.urls);
    else if (message?.type === 'failed') starting ? starting.failed(message.message) : log(message.message);
    else if (message?.type === 'reload-failed') workers.replace(worker);
    else if (message?.type === 'ejected') {
      const backend = live.config.backends.find((candidate) => candidate.id === message.id);
      if (!backend) return;
      backend.health.adoptEjection(message.untilMs, message.cooldownMs, message.ejections, message.reason, message.streak);
      workers.broadcast({ type: 'backend', backend: backendView(backend) }, worker);
    }
  };
  const counts = metrics && new MachineCounts(metrics, () => workers.counts());
  const exited = (id: number, slot: number, how: string, wasReady: boolean) => {
    counts?.retire(id);
    if (starting && !wasReady) starting.failed(`worker ${slot} exited (${how}) before it was ready`);
  };
  const workers = new WorkerSet({ count: options.workers, log, received, drainMs: options.drainMs, restarted: () => restarts?.inc(), exited });

  // The prober's verdicts, for every backend of every config loaded.
  const followed = new WeakSet<HealthState>();
  const follow = () => {
    for (const backend of live.config.backends) {
      if (followed.has(backend.health)) continue;
      followed.add(backend.health);
      backend.health.subscribe((event) => {
        if ((event.kind === 'up' || event.kind === 'down') && !event.adopted) workers.broadcast({ type: 'backend', backend: backendView(backend, event.reason) });
      });
    }
  };
  follow();
  /** A start that failed: the workers killed, nothing left running. */
  const abandon = async () => {
    workers.kill();
    live.stop();
    fleet.close();
    await Promise.all([probes.close(), stores.close()]);
  };
  const { fromConfig } = listenersFor(options.listen, live.config);
  live.onReload((next) => {
    if (fromConfig) checkSameListeners(live.config.listeners, next.listeners);
    if (!adminAt) {
      if (configuredAdmin(next)) throw new Error('admin.address: the admin listener starts at start-up only; restart to start it');
      return;
    }
    // The workers' admin listener is the primary's, bound once: it does not move with a reload.
    if (hostPort(checkAdminReload(next, options.admin)) !== hostPort(adminAt)) throw new Error('admin.address: with --workers the admin listener moves only with a restart');
  });
  const reload = async (reason: string, ifChanged = false): Promise<ReloadReport | undefined> => {
    const report = await live.reload(reason, ifChanged);
    if (report) metrics?.reloaded(report.result);
    if (report?.result === 'success') {
      metrics?.watch(live.config, live.loadedAt);
      follow();
      workers.broadcast(configMessage());
    }
    return report;
  };
  process.on('SIGHUP', () => void reload('SIGHUP'));

  const urls = await new Promise<readonly string[]>((resolve, reject) => {
    const ready = new Set<number>();
    starting = {
      ready: (slot, urls) => ready.add(slot).size === options.workers && resolve(urls),
      failed: (message) => reject(new CommandFailure(message.replace(/^switchyard: /, ''))),
    };
    workers.start();
  }).catch(async (error: unknown) => {
    await abandon();
    throw error;
  });
  starting = undefined;

  let admin: RunningAdmin | undefined;
  if (adminAt && counts) {
    const changed = (backend: Parameters<typeof backendView>[0]) => {
      toWorkers(backend);
      fleet.drainChanged(backend);
    };
    admin = await startAdmin(adminAt, { live, token: () => live.config.config.admin?.token, metrics: counts, traffic: () => counts.traffic(), reload: () => reload('the admin API'), changed }).catch(async (error: unknown) => {
      await abandon();
      throw listenFailure(error, adminAt.host, adminAt.port) ?? new CommandFailure(error instanceof Error ? error.message : String(error));
    });
  }
  const unwatchFile = options.watch ? watchConfig(file, () => void reload('a change to the file', true), log) : () => {};

  const stopped = stopSignals(log, () => void workers.stopNow().then(() => process.exit(1)));
  for (const url of urls) console.log(`listening on ${url}`);
  if (admin) console.log(`admin listening on ${admin.url}`);
  log(`switchyard: ${options.workers} workers serving (pid ${process.pid} is the primary)`);
  await stopped;
  unwatchFile();
  await workers.stop(options.drainMs);
  live.stop();
  fleet.close();
  await Promise.all([admin?.close(), probes.close(), stores.close()]);
  return 0;
}
