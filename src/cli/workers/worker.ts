import { availableParallelism } from 'node:os';
import process from 'node:process';
import type { Environment } from '../../core/config/substituteEnv.ts';
import type { HealthState } from '../../core/health/HealthState.ts';
import { jsonLine, textLine } from '../../core/observe/accessLogLine.ts';
import type { AccessLogFormat } from '../../core/observe/accessLogLine.ts';
import type { RequestRecord } from '../../core/observe/RequestRecord.ts';
import { BackendTraffic } from '../../admin/BackendTraffic.ts';
import { Metrics } from '../../admin/metrics.ts';
import { accessLogWriter } from '../../server/accessLogWriter.ts';
import { LiveConfig } from '../../server/LiveConfig.ts';
import type { RunningServer } from '../../server/startServer.ts';
import { ThreadedPasswordChecks } from '../../server/ThreadedPasswordChecks.ts';
import { SharedStores } from '../../store/SharedStores.ts';
import { loadRedisLink } from '../../store/loadRedisLink.ts';
import { describeFailure } from '../describeFailure.ts';
import { checkConfigFiles } from '../configChecks.ts';
import { allOf } from '../serveConfig.ts';
import { listenersFor, startOrExplain } from '../startListeners.ts';
import { DRAIN_MS, stopSignals } from '../stopSignals.ts';
import { applyBackendView } from './backendView.ts';
import { aggregatorsOf } from './MachineCounts.ts';
import type { ToPrimary, ToWorker, WorkerCounts } from './messages.ts';

export interface WorkerOptions {
  readonly file: string;
  readonly port?: number;
  readonly hostname?: string;
  readonly accessLog: AccessLogFormat;
  readonly env: Environment;
  /** This worker's number, 1 to N, kept by its replacement after a crash. */
  readonly slot: number;
  /** How many workers share the machine: basic_auth's threads are shared out among them. */
  readonly workers: number;
}

type ConfigMessage = Extract<ToWorker, { type: 'config' }>;

/**
 * Test only: a worker waits this many ms before it listens, so that tests can send it reloads,
 * drains and stops while it starts (a window of a few ms otherwise). Unset in production.
 */
const TEST_LISTEN_DELAY = 'SWITCHYARD_TEST_WORKER_LISTEN_DELAY_MS';

/**
 * One `--workers` worker: serves the routed listeners (shared through the primary, node:cluster)
 * with the config text the primary sends, probes nothing, and takes every health verdict, ejection
 * and run-time change from the primary. Resolves with the exit code once it has stopped.
 */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const log = (line: string) => console.error(line);
  const send = (message: ToPrimary) => process.send?.(message);
  let live: LiveConfig | undefined;
  let monitor: { metrics: Metrics; traffic: BackendTraffic } | undefined;
  const format = options.accessLog;
  const accessLog = format === 'off' ? undefined : accessLogWriter(withWorker(format === 'json' ? jsonLine : textLine, format, options.slot), log);

  // One handler from the start: what the primary sends while this worker starts (a reload, a
  // drain, a verdict) waits on `changes`, in the order sent, until the server is up; then reloads
  // and backend changes keep taking turns there, so a change is never applied to a config a
  // reload is about to replace.
  let configured!: (message: ConfigMessage) => void;
  const first = new Promise<ConfigMessage>((resolve) => (configured = resolve));
  let serving!: () => void;
  let changes = new Promise<void>((resolve) => (serving = resolve));
  const inTurn = (change: () => unknown) => void (changes = changes.then(async () => void (await change())).catch((error: unknown) => log(`switchyard: worker ${options.slot}: ${describeFailure(error)}`)));
  let stopAsked: number | undefined;
  let askStop!: (drainMs: number) => void;
  const asked = new Promise<number>((resolve) => (askStop = (drainMs) => resolve((stopAsked ??= drainMs))));
  const cutOff = () => {
    accessLog?.flush();
    process.exit(1);
  };
  let greeted = false;
  process.on('message', (message: ToWorker) => {
    if (message?.type === 'config' && !greeted) return void ((greeted = true), configured(message));
    if (message?.type === 'config') inTurn(() => reload(message));
    else if (message?.type === 'backend') inTurn(() => applyBackendView(live!.config, message.backend));
    else if (message?.type === 'counts?') void counts().then((answer) => send({ type: 'counts', id: message.id, counts: answer }));
    else if (message?.type === 'stop') askStop(message.drainMs);
    else if (message?.type === 'stop-now') cutOff();
  });
  // The primary reloads on SIGHUP; a terminal's hang-up reaches the whole group.
  process.on('SIGHUP', () => {});
  // Ctrl-C reaches the whole group: this worker drains as the primary tells it to, and a second one cuts off.
  void stopSignals(log, cutOff).then(() => askStop(DRAIN_MS));
  send({ type: 'hello' });

  const counts = async (): Promise<WorkerCounts> => {
    if (!monitor || !live) return { text: '', aggregators: {}, inFlight: {}, lastMinute: {} };
    const inFlight: Record<string, number> = {};
    const lastMinute: Record<string, [number, number]> = {};
    for (const backend of live.config.backends) {
      inFlight[backend.id] = backend.inFlight;
      const minute = monitor.traffic.lastMinute(backend.id);
      lastMinute[backend.id] = [minute.requests, minute.errors];
    }
    return { text: await monitor.metrics.text(), aggregators: aggregatorsOf(monitor.metrics.registry), inFlight, lastMinute };
  };

  const start = await Promise.race([first, asked.then(() => undefined)]);
  if (!start) return 0;
  let server: RunningServer | undefined;
  const passwordChecks = new ThreadedPasswordChecks(Math.max(1, Math.floor(Math.min(4, availableParallelism() - 1) / options.workers)));
  // `store`: each worker keeps its own Redis connection for the rate limits of the requests it
  // serves, and its own local buckets for when Redis is away, holding 1/N of the fallback share.
  const stores = new SharedStores((url, timeoutMs) => loadRedisLink(url, timeoutMs, log), log, { processes: options.workers, label: `worker ${options.slot}` });
  try {
    live = await LiveConfig.fromText(options.file, start.text, { env: options.env, log, checkFiles: checkConfigFiles, passwordChecks, stores });
    const config = () => live!.config;
    const certificates = () => server?.certificateExpiries() ?? new Map<string, number>();
    if (start.monitor) monitor = { metrics: new Metrics(config, { store: () => stores.stats, certificates }), traffic: new BackendTraffic() };
    for (const view of start.backends) applyBackendView(live.config, view);
    const delay = Number(process.env[TEST_LISTEN_DELAY] ?? 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    server = await startOrExplain({ live, ...listenersFor(options, live.config), log, observe: allOf([accessLog?.observe, monitor?.metrics.observe, monitor?.traffic.observe]) });
  } catch (error) {
    send({ type: 'failed', message: describeFailure(error) });
    await Promise.all([passwordChecks.close(), stores.close()]);
    return 1;
  }
  const reported = new WeakSet<HealthState>();
  const reportEjections = () => {
    monitor?.metrics.watch(live!.config, live!.loadedAt);
    monitor?.traffic.keepOnly(new Set(live!.config.backends.map((backend) => backend.id)));
    for (const backend of live!.config.backends) {
      if (reported.has(backend.health)) continue;
      reported.add(backend.health);
      backend.health.subscribe((event) => {
        if (event.kind !== 'ejected' || event.adopted) return;
        const { health } = backend;
        send({ type: 'ejected', id: backend.id, untilMs: health.ejectedUntil, cooldownMs: event.cooldownMs, ejections: health.ejections, reason: event.reason, streak: event.streak });
      });
    }
  };
  const reload = async (message: ConfigMessage) => {
    const report = await live!.reloadText(message.text, 'the primary');
    // Same text as the primary checked, but the files it names are read again here: one replaced
    // in between (a certificate renewal) can refuse it. This worker serves on with the config it
    // has; the primary starts a replacement on the new one and then drains this one.
    if (report?.result === 'failure') {
      log(`switchyard: worker ${options.slot} (pid ${process.pid}) cannot take the reloaded config: it is replaced`);
      send({ type: 'reload-failed' });
      return;
    }
    for (const view of message.backends) applyBackendView(live!.config, view);
    reportEjections();
  };
  reportEjections();
  serving();
  // A stop that came while this worker started: it never says it is ready.
  if (stopAsked === undefined) {
    send({ type: 'ready', urls: server.urls });
    log(`switchyard: worker ${options.slot} (pid ${process.pid}) ready`);
  }
  await server.close(await asked);
  live.stop();
  await Promise.all([passwordChecks.close(), stores.close()]);
  await accessLog?.close();
  return 0;
}

/** The access log's line with the worker that served it: `"worker":N` in JSON, `worker=N` in text. */
function withWorker(line: (record: RequestRecord) => string, format: 'json' | 'text', slot: number): (record: RequestRecord) => string {
  return format === 'json' ? (record) => `${line(record).slice(0, -1)},"worker":${slot}}` : (record) => `${line(record)} worker=${slot}`;
}
