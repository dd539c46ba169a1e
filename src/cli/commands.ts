import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { formatIssue } from '../core/config/ConfigError.ts';
import { loadChecked } from '../server/LiveConfig.ts';
import { checkConfigFiles } from './configChecks.ts';
import type { Environment } from '../core/config/substituteEnv.ts';
import { ACCESS_LOG_FORMATS, type AccessLogFormat } from '../core/observe/accessLogLine.ts';
import { parseAdminAddress } from '../admin/startAdmin.ts';
import { CommandFailure, readFailure, unresolvableHost } from './CommandFailure.ts';
import { describeConfig } from './describeConfig.ts';
import { commandOf, parseCommandLine, UsageError } from './parseCommandLine.ts';
import { explainCommand } from './explainCommand.ts';
import { serveConfig, type Serving } from './serveConfig.ts';
import { DRAIN_MS, stopSignals } from './stopSignals.ts';
import { runPermissionRefused } from './workers/runPermission.ts';
import { runPrimary } from './workers/primary.ts';
import { runWorker } from './workers/worker.ts';
import { workerCount } from './workers/workerCount.ts';
export { describeFailure } from './describeFailure.ts';

const HELP = `Usage: switchyard <command> [options]

Commands:
  serve --config FILE [--port 8080] [--hostname 127.0.0.1] [--access-log json|text|off]
        [--admin HOST:PORT] [--watch] [--workers N|auto]
        Serve the load balancer. --port 0 picks a free port. Prints
        "listening on http://HOST:PORT" once ready (then "admin listening on
        ..." with --admin), then one access log line per request. SIGHUP
        reloads the config; SIGTERM or SIGINT stops accepting, finishes
        in-flight requests and exits 0.
  check --config FILE
        Validate a config, like nginx -t: print a summary and exit 0,
        or print each error as FILE:LINE:COL: field: message and exit 1.
  explain --config FILE [-X METHOD] [-H 'Name: value']... [--from ADDRESS] URL [--json]
        Print what the balancer would do with a request, sending nothing:
        the route, guards, rules, gates and backends. Exits 0 when it would
        be forwarded, 1 when the balancer would answer it itself, 2 when the
        command line, the URL or the config is wrong.

Options:
  -c, --config FILE      The config, YAML or JSON (a .json file is strict JSON)
  -p, --port PORT        The port to listen on (default 8080; 0 picks a free one)
  -H, --hostname HOST    The address to listen on (default 127.0.0.1)
      --access-log FORMAT  One line per request on stdout: json (default), text or off
      --admin HOST:PORT    Serve /metrics, /status and the admin API there (a port
                         alone means 127.0.0.1; another address needs admin.token)
      --watch            Reload the config when its file changes
      --workers N|auto   Serve from N processes sharing the listeners (auto: one
                         per CPU), with one health prober and one admin listener
                         for all; under Deno the serve task needs --allow-run

explain options:
  -X, --request METHOD   The request's method (default GET)
  -H, --header 'N: V'    A header field of the request; repeat for more
      --from ADDRESS     The client's address, as the connection's peer
      --json             The explanation as JSON (docs/routing.md)
  -h, --help             Show this help
  -v, --version          Show the version

Under Deno: deno task serve --config FILE [options], the same options
`;

/** `${env:NAME}` in a config: the process environment, on Node and on Deno (`--allow-env`). */
const env: Environment = (name) => process.env[name];

/**
 * The command line, the same under Node (`switchyard ...`) and Deno (`deno task serve ...`):
 * resolves with the exit code; a config error, a missing file or a taken port rejects, for
 * `describeFailure`.
 */
export async function runCommand(argv: string[]): Promise<number> {
  if (commandOf(argv) === 'explain') return explainCommand(argv, env, HELP);
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
  return serve(values.config, { portText: values.port, hostname: values.hostname, accessLog: values['access-log'], admin: values.admin, watch: values.watch, workers: values.workers });
}

async function check(file: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw readFailure(error, file) ?? error;
  });
  const loaded = loadChecked(text, file, { env, checkFiles: checkConfigFiles });
  for (const warning of loaded.warnings) console.error(formatIssue(warning));
  console.log(`${file}: ok`);
  console.log(describeConfig(loaded));
  return 0;
}

async function serve(file: string, options: ServeOptions): Promise<number> {
  const { portText, hostname, accessLog: format = 'json' } = options;
  const port = portText === undefined ? undefined : Number(portText);
  if (portText !== undefined && (!/^\d+$/.test(portText) || port! > 65535)) {
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
  const workers = options.workers === undefined ? 1 : workerCount(options.workers);
  if (workers === undefined) {
    console.error(`switchyard serve: --workers ${options.workers} is not a number of workers (1-256) or auto`);
    return 2;
  }
  const unresolvable = hostname === undefined ? undefined : unresolvableHost(hostname, port ?? 8080);
  if (unresolvable) throw unresolvable;
  const slot = Number(process.env.SWITCHYARD_WORKER);
  if (cluster.isWorker && slot > 0) return runWorker({ file, port, hostname, accessLog: format as AccessLogFormat, env, slot, workers });
  if (workers > 1) {
    const refused = runPermissionRefused();
    if (refused) throw new CommandFailure(refused);
    return runPrimary({ file, workers, listen: { port, hostname }, admin: adminFlag, watch: options.watch, env, drainMs: DRAIN_MS });
  }
  const log = (line: string) => console.error(line);
  // systemd's reload sends SIGHUP, whose default would end the process: taken before the
  // listening line, which is what tells a supervisor the signals are safe to send.
  let serving: Serving | undefined;
  process.on('SIGHUP', () => void (serving ? serving.reload('SIGHUP') : log('switchyard: SIGHUP before the balancer is ready: ignored')));
  serving = await serveConfig({ file, port, hostname, accessLog: format as AccessLogFormat, admin: adminFlag, watch: options.watch, env, log });

  const stopped = stopSignals(log, () => {
    serving?.flushLog();
    process.exit(1);
  });
  for (const url of serving.urls) console.log(`listening on ${url}`);
  if (serving.adminUrl) console.log(`admin listening on ${serving.adminUrl}`);
  await stopped;
  await serving.stop(DRAIN_MS);
  return 0;
}

interface ServeOptions {
  readonly portText?: string;
  readonly hostname?: string;
  readonly accessLog?: string;
  readonly admin?: string;
  readonly watch?: boolean;
  readonly workers?: string;
}
