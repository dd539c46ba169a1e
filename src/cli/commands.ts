import { readFile } from 'node:fs/promises';
import { ConfigError, formatIssue } from '../core/config/ConfigError.ts';
import { loadConfig } from '../core/config/loadConfig.ts';
import type { Environment } from '../core/config/substituteEnv.ts';
import { CommandFailure, listenFailure, readFailure, unresolvableHost } from './CommandFailure.ts';
import { describeConfig } from './describeConfig.ts';
import { parseCommandLine, UsageError } from './parseCommandLine.ts';
import { startServer } from '../server/startServer.ts';
import { LiveConfig, type ReloadReport } from '../server/LiveConfig.ts';
import { accessLogWriter } from '../server/accessLogWriter.ts';
import { undiciUpstream } from '../upstream/undiciUpstream.ts';
import { ACCESS_LOG_FORMATS } from '../core/observe/accessLogLine.ts';
import type { RequestObserver } from '../core/observe/RequestRecord.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';
import type { AdminContext } from '../admin/adminApp.ts';
import { BackendTraffic } from '../admin/BackendTraffic.ts';
import { Metrics } from '../admin/metrics.ts';
import { hostPort, isLoopback, parseAdminAddress, startAdmin, type AdminAddress, type RunningAdmin } from '../admin/startAdmin.ts';
import { stopWithNpm } from './stopWithNpm.ts';
import { watchConfig } from './watchConfig.ts';

const HELP = `Usage: switchyard <command> [options]

Commands:
  serve --config FILE [--port 8080] [--hostname 127.0.0.1] [--access-log json|text|off]
        [--admin HOST:PORT] [--watch]
        Serve the load balancer. --port 0 picks a free port. Prints
        "listening on http://HOST:PORT" once ready (then "admin listening on
        ..." with --admin), then one access log line per request. SIGHUP
        reloads the config; SIGTERM or SIGINT stops accepting, finishes
        in-flight requests and exits 0.
  check --config FILE
        Validate a config, like nginx -t: print a summary and exit 0,
        or print each error as FILE:LINE:COL: field: message and exit 1.

Options:
  -c, --config FILE      The config, YAML or JSON (a .json file is strict JSON)
  -p, --port PORT        The port to listen on (default 8080; 0 picks a free one)
  -H, --hostname HOST    The address to listen on (default 127.0.0.1)
      --access-log FORMAT  One line per request on stdout: json (default), text or off
      --admin HOST:PORT    Serve /metrics, /status and the admin API there (a port
                         alone means 127.0.0.1; another address needs admin.token)
      --watch            Reload the config when its file changes
  -h, --help             Show this help
  -v, --version          Show the version

Under Deno: deno task serve --config FILE [options], the same options
`;

/** `${env:NAME}` in a config: the process environment, on Node and on Deno (`--allow-env`). */
const env: Environment = (name) => process.env[name];

/** How long in-flight requests may take to finish after SIGTERM or SIGINT. */
const DRAIN_MS = 30_000;

/**
 * The command line, the same under Node (`switchyard ...`) and Deno (`deno task serve ...`):
 * resolves with the exit code; a config error, a missing file or a taken port rejects, for
 * `describeFailure`.
 */
export async function runCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`switchyard: ${error.message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    console.log(pkg.version);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    (command || values.help ? console.log : console.error)(HELP);
    return values.help ? 0 : 2;
  }
  if (command !== 'serve' && command !== 'check') {
    console.error(`switchyard: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  if (!values.config) {
    console.error(`switchyard ${command}: --config FILE is required`);
    return 2;
  }
  if (command === 'check') return check(values.config);
  return serve(values.config, { portText: values.port, hostname: values.hostname, accessLog: values['access-log'], admin: values.admin, watch: values.watch });
}

async function check(file: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw readFailure(error, file) ?? error;
  });
  const loaded = loadConfig(text, file, { env });
  for (const warning of loaded.warnings) console.error(formatIssue(warning));
  console.log(`${file}: ok`);
  console.log(describeConfig(loaded));
  return 0;
}

async function serve(file: string, options: ServeOptions): Promise<number> {
  const { portText = '8080', hostname = '127.0.0.1', accessLog: format = 'json' } = options;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    console.error(`switchyard serve: --port ${portText} is not a port number (0-65535)`);
    return 2;
  }
  if (!(ACCESS_LOG_FORMATS as readonly string[]).includes(format)) {
    console.error(`switchyard serve: --access-log ${format} is not a format; expected json, text or off`);
    return 2;
  }
  const adminFlag = options.admin === undefined ? undefined : parseAdminAddress(options.admin);
  if (options.admin !== undefined && !adminFlag) {
    console.error(`switchyard serve: --admin ${options.admin} is not HOST:PORT (an IPv6 address in brackets) or a port`);
    return 2;
  }
  const unresolvable = unresolvableHost(hostname, port);
  if (unresolvable) throw unresolvable;
  const log = (line: string) => console.error(line);
  // systemd's reload sends SIGHUP, whose default would end the process: taken before the
  // listening line, which is what tells a supervisor the signals are safe to send.
  let reload = async (_reason: string, _ifChanged = false): Promise<ReloadReport | undefined> => {
    log('switchyard: SIGHUP before the balancer is ready: ignored');
    return undefined;
  };
  process.on('SIGHUP', () => void reload('SIGHUP'));

  // Health probes, rare, travel on web streams; requests on the server's own (startServer).
  const probes = undiciUpstream();
  const live = await LiveConfig.load(file, { env, log, probes }).catch((error: unknown) => {
    throw readFailure(error, file) ?? error;
  });
  for (const warning of live.config.warnings) log(formatIssue(warning));
  const adminAt = adminFlag ?? configuredAdmin(live.config);
  // Metrics and the status page's counts are kept only when something can read them.
  const monitor = adminAt && { metrics: new Metrics(() => live.config), traffic: new BackendTraffic() };
  const accessLog = format === 'off' ? undefined : accessLogWriter(format as 'json' | 'text', log);
  const observe = allOf([accessLog?.observe, monitor?.metrics.observe, monitor?.traffic.observe]);

  const server = await startServer({ live, port, hostname, log, observe }).catch((error: unknown) => {
    throw listenFailure(error, hostname, port) ?? error;
  });
  let admin: RunningAdmin | undefined;
  if (adminAt && monitor) {
    monitor.metrics.watch(live.config, live.loadedAt);
    const context: AdminContext = { live, token: () => live.config.config.admin?.token, ...monitor, reload: () => reload('the admin API') };
    admin = await startAdmin(adminAt, context).catch((error: unknown) => {
      throw listenFailure(error, adminAt.host, adminAt.port) ?? new CommandFailure(error instanceof Error ? error.message : String(error));
    });
    // A reload may move the admin listener, or take away the token it needs; `--admin` fixes the address.
    live.onReload(async (next) => {
      const wanted = adminFlag ?? configuredAdmin(next);
      if (!wanted) throw new Error('admin: the admin listener cannot be stopped by a reload; restart without it');
      if (!isLoopback(wanted.host) && next.config.admin?.token === undefined) throw new Error(`admin.token: the admin listener on ${hostPort(wanted)} is not on loopback, so it needs a token`);
      // Port 0 at start-up was a free port, now bound: the same address for as long as it is unchanged.
      const current = adminFlag ?? configuredAdmin(live.config);
      if (current && hostPort(wanted) === hostPort(current)) return;
      const moved = await startAdmin(wanted, context).catch((error: unknown) => {
        throw new Error(`admin.address: cannot move the admin listener to ${hostPort(wanted)}: ${error instanceof Error ? error.message : String(error)}`);
      });
      void admin?.close();
      admin = moved;
      log(`switchyard: admin listener moved to ${moved.url}`);
    });
  } else {
    live.onReload((next) => {
      if (next.config.admin?.address !== undefined) throw new Error('admin.address: the admin listener starts at start-up only; restart to start it');
    });
  }
  reload = async (reason, ifChanged = false) => {
    const report = await live.reload(reason, ifChanged);
    if (!report || !monitor) return report;
    monitor.metrics.reloaded(report.result);
    if (report.result === 'success') {
      monitor.metrics.watch(live.config, live.loadedAt);
      monitor.traffic.keepOnly(new Set(live.config.backends.map((backend) => backend.id)));
    }
    return report;
  };
  const unwatchFile = options.watch ? watchConfig(file, () => void reload('a change to the file', true), log) : () => {};

  // The handlers stay for the whole drain: a second SIGINT within a second is the same Ctrl-C
  // reaching the server twice (deno task passes it on to its process group), a later one means
  // "now": the drain is cut short and the process exits.
  let stopping = 0;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      const now = Date.now();
      if (stopping === 0) {
        stopping = now;
        unwatch();
        return resolve();
      }
      if (now - stopping < 1000) return;
      log('switchyard: stopping again: in-flight requests are cut off');
      accessLog?.flush();
      process.exit(1);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    const unwatch = stopWithNpm(() => (log('switchyard: npm, which started this process, has gone: stopping as on SIGTERM'), stop()));
  });
  console.log(`listening on ${server.url}`);
  if (admin) console.log(`admin listening on ${admin.url}`);
  await stopped;
  unwatchFile();
  live.stop();
  await Promise.all([server.close(DRAIN_MS), admin?.close()]);
  await probes.close();
  accessLog?.flush();
  return 0;
}

interface ServeOptions {
  readonly portText?: string;
  readonly hostname?: string;
  readonly accessLog?: string;
  readonly admin?: string;
  readonly watch?: boolean;
}

/** The admin listener the config asks for, if any. */
function configuredAdmin(config: LoadedConfig): AdminAddress | undefined {
  const address = config.config.admin?.address;
  return address === undefined ? undefined : parseAdminAddress(address);
}

/** One observer for several; undefined when there is none, so a request pays nothing for it. */
function allOf(observers: readonly (RequestObserver | undefined)[]): RequestObserver | undefined {
  const present = observers.filter((observer) => observer !== undefined);
  if (present.length <= 1) return present[0];
  return (record) => {
    for (const observer of present) observer(record);
  };
}

/** One line for what stopped a command: no stack trace for the user's mistakes. */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof CommandFailure) return `switchyard: ${error.message}`;
  return `switchyard: ${error instanceof Error ? error.message : String(error)}`;
}
