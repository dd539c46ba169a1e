import { formatIssue } from '../core/config/ConfigError.ts';
import type { Environment } from '../core/config/substituteEnv.ts';
import type { AccessLogFormat } from '../core/observe/accessLogLine.ts';
import type { RequestObserver } from '../core/observe/RequestRecord.ts';
import type { AdminContext } from '../admin/adminApp.ts';
import { BackendTraffic } from '../admin/BackendTraffic.ts';
import { Metrics } from '../admin/metrics.ts';
import { hostPort, startAdmin, type AdminAddress, type RunningAdmin } from '../admin/startAdmin.ts';
import { accessLogWriter } from '../server/accessLogWriter.ts';
import { LiveConfig, type ReloadReport } from '../server/LiveConfig.ts';
import type { RunningServer } from '../server/startServer.ts';
import { ThreadedPasswordChecks } from '../server/ThreadedPasswordChecks.ts';
import { undiciUpstream } from '../upstream/undiciUpstream.ts';
import { CommandFailure, listenFailure, readFailure } from './CommandFailure.ts';
import { checkAdminReload } from './adminReloadCheck.ts';
import { checkConfigFiles } from './configChecks.ts';
import { configuredAdmin } from './configuredAdmin.ts';
import { listenersFor, startOrExplain } from './startListeners.ts';
import { watchConfig } from './watchConfig.ts';
import { SharedStores } from '../store/SharedStores.ts';
import { loadRedisLink } from '../store/loadRedisLink.ts';
import { shareHealth, storeStats } from '../store/shareHealth.ts';

export interface ServeConfigOptions {
  readonly file: string;
  /** `--port` and `--hostname`: either makes one plain listener, replacing the config's `listen` (default 8080 on 127.0.0.1). */
  readonly port?: number;
  readonly hostname?: string;
  readonly accessLog: AccessLogFormat;
  /** `--admin`: wins over the config's `admin.address`. */
  readonly admin?: AdminAddress;
  /** `--watch`: reload when the file changes. */
  readonly watch?: boolean;
  readonly env: Environment;
  /** The error log: health changes, failures, reloads. */
  readonly log: (line: string) => void;
}

/** A balancer serving, as `switchyard serve` and the demo run it. */
export interface Serving {
  /** `http(s)://HOST:PORT` of each routed listener, in order. */
  readonly urls: readonly string[];
  /** The first of them. */
  readonly url: string;
  /** `http://HOST:PORT` of the admin listener, when there is one. */
  readonly adminUrl: string | undefined;
  /** Reloads the config file (SIGHUP, the admin API, `--watch`). */
  reload(reason: string, ifChanged?: boolean): Promise<ReloadReport | undefined>;
  /** Writes the access log lines still waiting, at once (before an exit that cannot wait). */
  flushLog(): void;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), and releases everything. */
  stop(drainMs: number): Promise<void>;
}

/**
 * Everything `serve` runs, wired together: the config and its reloads, the routed listener, the
 * access log, and, when asked for, the admin listener with its metrics and status page.
 * Rejects with a `ConfigError` or a `CommandFailure` that says what to fix.
 */
export async function serveConfig(options: ServeConfigOptions): Promise<Serving> {
  const { file, log } = options;
  // Health probes, rare, travel on web streams; requests on the server's own (startServer).
  const probes = undiciUpstream();
  // basic_auth's checks, off the event loop; one set of threads for every config this process loads.
  const passwordChecks = new ThreadedPasswordChecks();
  // `store`: one Redis connection, kept across reloads that leave the store's settings alone.
  const stores = new SharedStores((url, timeoutMs) => loadRedisLink(url, timeoutMs, log), log);
  const live = await LiveConfig.load(file, { env: options.env, log, probes, checkFiles: checkConfigFiles, passwordChecks, stores }).catch(async (error: unknown) => {
    await stores.close();
    throw readFailure(error, file) ?? error;
  });
  for (const warning of live.config.warnings) log(formatIssue(warning));
  // With `store`, verdicts, ejections and drains are shared with every instance using the same Redis.
  const fleet = shareHealth(live, stores, { log });
  const adminAt = options.admin ?? configuredAdmin(live.config);
  // Metrics and the status page's counts are kept only when something can read them.
  // The certificates' expiries are the server's to tell, once it runs.
  let listening: RunningServer | undefined;
  const certificates = () => listening?.certificateExpiries() ?? new Map<string, number>();
  const monitor = adminAt && { metrics: new Metrics(() => live.config, { store: () => storeStats(stores, fleet), certificates }), traffic: new BackendTraffic() };
  const accessLog = options.accessLog === 'off' ? undefined : accessLogWriter(options.accessLog, log);
  const observe = allOf([accessLog?.observe, monitor?.metrics.observe, monitor?.traffic.observe]);

  const server = await startOrExplain({ live, ...listenersFor(options, live.config), log, observe }).catch(async (error: unknown) => {
    // An open Redis connection would keep the process from exiting.
    await stores.close();
    throw error;
  });
  listening = server;
  const reload = async (reason: string, ifChanged = false): Promise<ReloadReport | undefined> => {
    const report = await live.reload(reason, ifChanged);
    if (!report || !monitor) return report;
    monitor.metrics.reloaded(report.result);
    if (report.result === 'success') {
      monitor.metrics.watch(live.config, live.loadedAt);
      monitor.traffic.keepOnly(new Set(live.config.backends.map((backend) => backend.id)));
    }
    return report;
  };
  let admin: RunningAdmin | undefined;
  if (adminAt && monitor) {
    monitor.metrics.watch(live.config, live.loadedAt);
    const context: AdminContext = { live, token: () => live.config.config.admin?.token, metrics: monitor.metrics, traffic: () => monitor.traffic, reload: () => reload('the admin API'), changed: (backend) => fleet.drainChanged(backend) };
    admin = await startAdmin(adminAt, context).catch((error: unknown) => {
      throw listenFailure(error, adminAt.host, adminAt.port) ?? new CommandFailure(error instanceof Error ? error.message : String(error));
    });
    // A reload may move the admin listener, or take away the token it needs; `--admin` fixes the address.
    live.onReload(async (next) => {
      const wanted = checkAdminReload(next, options.admin);
      // Port 0 at start-up was a free port, now bound: the same address for as long as it is unchanged.
      const current = options.admin ?? configuredAdmin(live.config);
      if (current && hostPort(wanted) === hostPort(current)) return;
      // Bound now, so an address that cannot be had refuses the reload; the old one closes with the swap.
      // Until the swap the new listener answers with the new config's token, which it was moved for.
      let committed = false;
      const token = () => (committed ? live.config : next).config.admin?.token;
      const moved = await startAdmin(wanted, { ...context, token }).catch((error: unknown) => {
        throw new Error(`admin.address: cannot move the admin listener to ${hostPort(wanted)}: ${error instanceof Error ? error.message : String(error)}`);
      });
      return {
        commit() {
          committed = true;
          void admin?.close();
          admin = moved;
          log(`switchyard: admin listener moved to ${moved.url}`);
        },
        abort: () => void moved.close(),
      };
    });
  } else {
    live.onReload((next) => {
      if (next.config.admin?.address !== undefined) throw new Error('admin.address: the admin listener starts at start-up only; restart to start it');
    });
  }
  const unwatchFile = options.watch ? watchConfig(file, () => void reload('a change to the file', true), log) : () => {};

  return {
    urls: server.urls,
    url: server.urls[0],
    get adminUrl() {
      return admin?.url;
    },
    reload,
    flushLog: () => accessLog?.flush(),
    async stop(drainMs) {
      unwatchFile();
      live.stop();
      fleet.close();
      await Promise.all([server.close(drainMs), admin?.close()]);
      await Promise.all([probes.close(), passwordChecks.close(), stores.close()]);
      await accessLog?.close();
    },
  };
}

/** One observer for several; undefined when there is none, so a request pays nothing for it. */
export function allOf(observers: readonly (RequestObserver | undefined)[]): RequestObserver | undefined {
  const present = observers.filter((observer) => observer !== undefined);
  if (present.length <= 1) return present[0];
  return (record) => {
    for (const observer of present) observer(record);
  };
}
