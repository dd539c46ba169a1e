import { availableParallelism } from 'node:os';
import process from 'node:process';
import type { ListenerSettings } from '../../core/config/compileListeners.ts';
import type { Environment } from '../../core/config/substituteEnv.ts';
import type { HealthState } from '../../core/health/HealthState.ts';
import { jsonLine, textLine } from '../../core/observe/accessLogLine.ts';
import type { AccessLogFormat } from '../../core/observe/accessLogLine.ts';
import type { RequestRecord } from '../../core/observe/RequestRecord.ts';
import { Metrics } from '../../admin/metrics.ts';
import { accessLogWriter } from '../../server/accessLogWriter.ts';
import { LiveConfig } from '../../server/LiveConfig.ts';
import { startServer, type RunningServer } from '../../server/startServer.ts';
import { ThreadedPasswordChecks } from '../../server/ThreadedPasswordChecks.ts';
import { describeFailure } from '../describeFailure.ts';
import { checkConfigFiles } from '../configChecks.ts';
import { listenFailure } from '../CommandFailure.ts';
import { allOf, plainListener } from '../serveConfig.ts';
import { applyBackendView } from './backendView.ts';
import type { ToPrimary, ToWorker } from './messages.ts';

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

/**
 * One `--workers` worker: serves the routed listeners (shared through the primary, node:cluster)
 * with the config text the primary sends, probes nothing, and takes every health verdict, ejection
 * and run-time change from the primary. Resolves with the exit code once it has stopped.
 */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const log = (line: string) => console.error(line);
  const send = (message: ToPrimary) => process.send?.(message);
  const started = new Promise<Extract<ToWorker, { type: 'config' }>>((resolve) => {
    const first = (message: ToWorker) => {
      if (message?.type !== 'config') return;
      process.off('message', first);
      resolve(message);
    };
    process.on('message', first);
  });
  // The primary reloads on SIGHUP; a terminal's hang-up reaches the whole group.
  process.on('SIGHUP', () => {});
  send({ type: 'hello' });
  const { text, backends, monitor } = await started;

  let live: LiveConfig;
  let server: RunningServer;
  const passwordChecks = new ThreadedPasswordChecks(Math.max(1, Math.floor(Math.min(4, availableParallelism() - 1) / options.workers)));
  const metrics = monitor ? new Metrics(() => live.config) : undefined;
  const format = options.accessLog;
  const accessLog = format === 'off' ? undefined : accessLogWriter(withWorker(format === 'json' ? jsonLine : textLine, format, options.slot), log);
  try {
    live = await LiveConfig.fromText(options.file, text, { env: options.env, log, checkFiles: checkConfigFiles, passwordChecks });
    for (const view of backends) applyBackendView(live.config, view);
    const fromCommandLine = options.port !== undefined || options.hostname !== undefined || live.config.listeners.length === 0;
    const listeners: readonly ListenerSettings[] = fromCommandLine ? [plainListener(options.hostname ?? '127.0.0.1', options.port ?? 8080)] : live.config.listeners;
    server = await startServer({ live, listeners, fromConfig: !fromCommandLine, log, observe: allOf([accessLog?.observe, metrics?.observe]) }).catch((error: unknown) => {
      const failed = (error as { listener?: ListenerSettings }).listener;
      throw (failed && listenFailure(error, failed.host, failed.port)) ?? error;
    });
  } catch (error) {
    send({ type: 'failed', message: describeFailure(error) });
    return 1;
  }
  const reported = new WeakSet<HealthState>();
  const reportEjections = () => {
    metrics?.watch(live.config, live.loadedAt);
    for (const backend of live.config.backends) {
      if (reported.has(backend.health)) continue;
      reported.add(backend.health);
      backend.health.subscribe((event) => {
        if (event.kind !== 'ejected' || event.adopted) return;
        send({ type: 'ejected', id: backend.id, untilMs: backend.health.ejectedUntil, cooldownMs: event.cooldownMs, reason: event.reason, streak: event.streak });
      });
    }
  };
  reportEjections();

  let askStop!: (drainMs: number) => void;
  const asked = new Promise<number>((resolve) => (askStop = resolve));
  process.on('SIGTERM', () => askStop(DRAIN_MS));
  process.on('SIGINT', () => askStop(DRAIN_MS));
  process.on('message', (message: ToWorker) => {
    if (message?.type === 'backend') applyBackendView(live.config, message.backend);
    else if (message?.type === 'config') void reload(message);
    else if (message?.type === 'metrics?') void metrics?.registry.getMetricsAsJSON().then((json) => send({ type: 'metrics', id: message.id, json }));
    else if (message?.type === 'stop') askStop(message.drainMs);
  });
  const reload = async (message: Extract<ToWorker, { type: 'config' }>) => {
    const report = await live.reloadText(message.text, 'the primary');
    // Same text, same files as the primary checked: a refusal here means this worker cannot
    // follow; it exits and its replacement starts on the primary's config.
    if (report?.result === 'failure') {
      log(`switchyard: worker ${options.slot} (pid ${process.pid}) cannot take the reloaded config: restarting it`);
      accessLog?.flush();
      process.exit(1);
    }
    for (const view of message.backends) applyBackendView(live.config, view);
    reportEjections();
  };
  send({ type: 'ready', urls: server.urls });
  log(`switchyard: worker ${options.slot} (pid ${process.pid}) ready`);
  await server.close(await asked);
  live.stop();
  await passwordChecks.close();
  await accessLog?.close();
  return 0;
}

/** How long in-flight requests may take after a signal the worker got itself (the same as `serve`'s). */
const DRAIN_MS = 30_000;

/** The access log's line with the worker that served it: `"worker":N` in JSON, `worker=N` in text. */
function withWorker(line: (record: RequestRecord) => string, format: 'json' | 'text', slot: number): (record: RequestRecord) => string {
  return format === 'json' ? (record) => `${line(record).slice(0, -1)},"worker":${slot}}` : (record) => `${line(record)} worker=${slot}`;
}
