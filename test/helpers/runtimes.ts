import { signalGroup, stopGroup } from './processGroup.ts';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, PROJECT_ROOT, startBalancer, writeConfig } from './startBalancer.ts';

/** The runtimes Switchyard runs on, as the conformance suite names them. */
export type RuntimeName = 'node' | 'deno' | 'workerd';

export const RUNTIME_NAMES: readonly RuntimeName[] = ['node', 'deno', 'workerd'];

/**
 * What each runtime documentedly does differently (README: Running on Node, Deno and Cloudflare Workers); the conformance cases assert
 * these explicitly instead of skipping.
 */
export interface RuntimeFacts {
  /** Whether the backend receives the client's `Host`; workerd's fetch always sends the URL's host. */
  readonly keepsClientHost: boolean;
  /**
   * Whether a compressed response reaches the client byte for byte as the backend sent it. workerd
   * decodes what JavaScript reads and encodes it again for the client, so only the decoded content
   * and the `Content-Encoding` are the same.
   */
  readonly compressedBodyVerbatim: boolean;
  /**
   * Whether the app sees the client's `Connection` header, and so can drop the fields it names.
   * workerd consumes it (and `TE`) before the Worker runs; fields named only there are forwarded.
   */
  readonly seesConnectionHeader: boolean;
  /**
   * The status when every backend of a route refuses connections: 503 (no backend available) where
   * the runtime tells a refused connection from a failed exchange; workerd reports both as
   * "Network connection lost.", so the balancer answers 502 there.
   */
  readonly allRefusedStatus: 502 | 503;
  /**
   * Whether a client that disconnects cancels the upstream request. Under `wrangler dev` the
   * disconnect does not reach the Worker (`request.signal` never fires, even with
   * `enable_request_signal`), so the backend request runs until it ends or times out.
   */
  readonly cancelsUpstreamOnDisconnect: boolean;
  /**
   * Whether the query reaches the backend exactly as the client sent it even where it holds
   * characters the URL standard percent-encodes in a query (`'`, `"`, `<`, `>`). workerd hands the
   * Worker a re-serialised URL, so those arrive encoded; every other byte is kept.
   */
  readonly queryVerbatim: boolean;
  /**
   * Whether a WebSocket upgrade reaches the backend with the request's own headers (so Host, as
   * `keepsClientHost` says, and X-Forwarded-For). Deno relays between two WebSockets, and its
   * WebSocket client sends no custom headers: the backend sees its own Host and no X-Forwarded-*.
   */
  readonly upgradeKeepsHeaders: boolean;
  /**
   * Whether the backend's trailer fields reach the client (after the body; on HTTP/1.1 to a client
   * that sent `TE: trailers`). A Worker's `fetch` exposes no trailers and its `Response` sends
   * none, so they are lost there: gRPC cannot pass through a Worker.
   */
  readonly passesTrailers: boolean;
  /**
   * Whether `compress` compresses a body of unknown length (server-sent events, a chunked stream)
   * with a flush after every chunk. workerd's encoders cannot be flushed (cloudflare/workerd#7390),
   * so such a body goes uncompressed there rather than held back until it ends.
   */
  readonly compressesStreams: boolean;
  /**
   * Whether the runtime encodes responses for the client itself, by the client's Accept-Encoding,
   * whatever the balancer chose: Cloudflare's edge (and wrangler dev) compresses text of any size
   * and picks the coding among those the client accepts. There, `compress` decides only whether a
   * response is marked for encoding; the body the client decodes is the same.
   */
  readonly encodesForClient: boolean;
}

export const RUNTIME_FACTS: Record<RuntimeName, RuntimeFacts> = {
  node: { keepsClientHost: true, compressedBodyVerbatim: true, seesConnectionHeader: true, allRefusedStatus: 503, cancelsUpstreamOnDisconnect: true, queryVerbatim: true, upgradeKeepsHeaders: true, passesTrailers: true, compressesStreams: true, encodesForClient: false },
  deno: { keepsClientHost: true, compressedBodyVerbatim: true, seesConnectionHeader: true, allRefusedStatus: 503, cancelsUpstreamOnDisconnect: true, queryVerbatim: true, upgradeKeepsHeaders: true, passesTrailers: true, compressesStreams: true, encodesForClient: false },
  workerd: { keepsClientHost: false, compressedBodyVerbatim: false, seesConnectionHeader: false, allRefusedStatus: 502, cancelsUpstreamOnDisconnect: false, queryVerbatim: false, upgradeKeepsHeaders: true, passesTrailers: false, compressesStreams: false, encodesForClient: true },
};

/** A balancer running on one runtime. */
export interface RuntimeBalancer {
  readonly runtime: RuntimeName;
  /** `http://127.0.0.1:PORT`, or the first listener's `https://HOST:PORT` with `configListeners` */
  readonly url: string;
  /** Everything the processes printed so far, stdout and stderr together. */
  output(): string;
  /** Stops the balancer and every process it started; resolves once they are gone. */
  stop(): Promise<void>;
}

/** The `deno` binary that `npm ci` installs (its postinstall links the real binary beside bin.cjs). */
export const DENO_BINARY = [join(PROJECT_ROOT, 'node_modules/deno/deno'), join(PROJECT_ROOT, 'node_modules/deno/deno.exe')].find((path) => existsSync(path)) ?? join(PROJECT_ROOT, 'node_modules/.bin/deno');

const WRANGLER = join(PROJECT_ROOT, 'node_modules/wrangler/bin/wrangler.js');

export interface StartOptions {
  /**
   * Serve on the config's own `listen` entries (TLS ones included) instead of `--port 0 --hostname
   * 127.0.0.1`, which would replace them with one plain listener. Node and Deno only: on Workers,
   * Cloudflare terminates TLS. Certificate paths are best absolute (the config file is temporary).
   * @default false
   */
  readonly configListeners?: boolean;
  /**
   * workerd only: how the Worker has its SWITCHYARD_STATE Durable Object. `own`: wrangler.toml as
   * it is. `none`: without the binding and its migration, each isolate on its own health and
   * buckets. `borrowed`: a second Worker (`switchyard-second`) whose binding names the `own`
   * Worker's object (`script_name`), which wrangler's dev registry (`registry`) finds in that other
   * `wrangler dev`: two isolates sharing one object, as on Cloudflare. @default 'own'
   */
  readonly sharedState?: 'own' | 'none' | 'borrowed';
  /** workerd only: wrangler's dev registry (WRANGLER_REGISTRY_PATH), the same for Workers that share an object. @default one for this session alone */
  readonly registry?: string;
}

/**
 * Starts the balancer on a runtime with the given config, on a free loopback port, the way a user
 * would: `switchyard serve` from the build, `deno task serve`, or `wrangler dev` with `LB_CONFIG`.
 * @param configText YAML or JSON; on workerd, `{ demo: true }` asks for the bundled
 *   examples/loadbalancer.yaml (`--var LB_DEMO:1`), `{ config, vars }` sets more vars beside
 *   `LB_CONFIG`, and `undefined` leaves `LB_CONFIG` unset (every request answers 500)
 */
export async function startOnRuntime(runtime: RuntimeName, configText: string | WorkerVars | undefined, options: StartOptions = {}): Promise<RuntimeBalancer> {
  if (runtime !== 'workerd' && typeof configText !== 'string') throw new Error(`${runtime} needs a config file`);
  if (options.configListeners) {
    if (runtime === 'workerd') throw new Error('workerd has no listeners of its own: Cloudflare terminates TLS');
    const configFile = await writeConfig(configText as string);
    const [command, args] = runtime === 'node' ? [process.execPath, [CLI, 'serve', '--config', configFile]] : [DENO_BINARY, ['task', 'serve', '--config', configFile]];
    return spawnServer(runtime, command, args, /listening on (https?:\/\/\S+)/, 30_000);
  }
  if (runtime === 'node') {
    const running = await startBalancer(configText as string);
    return { runtime, url: running.url, output: running.output, stop: async () => void (await running.stop()) };
  }
  if (runtime === 'deno') {
    const configFile = await writeConfig(configText as string);
    return spawnServer(runtime, DENO_BINARY, ['task', 'serve', '--config', configFile, '--port', '0', '--hostname', '127.0.0.1'], /listening on (http:\/\/\S+)/, 30_000);
  }
  const persistDir = await mkdtemp(join(tmpdir(), 'switchyard-wrangler-'));
  return spawnServer(
    runtime,
    process.execPath,
    [
      WRANGLER,
      'dev',
      ...(options.sharedState && options.sharedState !== 'own' ? ['--config', await wranglerConfig(options.sharedState, persistDir)] : []),
      ...['--port', '0', '--ip', '127.0.0.1', '--inspector-port', '0', '--persist-to', persistDir],
      ...workerVarArgs(typeof configText === 'string' ? { config: configText } : (configText ?? {})),
      ...['--show-interactive-dev-session=false', '--log-level', 'info'],
    ],
    /Ready on (http:\/\/\S+)/,
    60_000,
    // A dev registry of its own unless sharing one is the point: sessions of the same Worker name
    // in wrangler's default registry see each other come and go, which can restart a Worker mid-request.
    { WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', CI: '1', WRANGLER_REGISTRY_PATH: options.registry ?? join(persistDir, 'registry') },
  );
}

/**
 * wrangler.toml for a Worker without the SWITCHYARD_STATE object (no binding, no migration), or
 * borrowing the `switchyard` Worker's (named `switchyard-second`, its binding naming that script,
 * no migration), written into `dir` with `main` made absolute so the copy finds the Worker.
 */
async function wranglerConfig(sharedState: 'none' | 'borrowed', dir: string): Promise<string> {
  const text = await readFile(join(PROJECT_ROOT, 'wrangler.toml'), 'utf8');
  const dropped = sharedState === 'none' ? /^\[\[(durable_objects\.bindings|migrations)\]\]/ : /^\[\[migrations\]\]/;
  const kept: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    if (dropped.test(line)) skipping = true;
    else if (skipping && line.trim() === '') skipping = false;
    else if (skipping) continue;
    else if (line.startsWith('main = ')) kept.push(`main = ${JSON.stringify(join(PROJECT_ROOT, JSON.parse(line.slice(7)) as string))}`);
    else if (sharedState === 'borrowed' && line === 'name = "switchyard"') kept.push('name = "switchyard-second"');
    else if (sharedState === 'borrowed' && line === 'class_name = "SwitchyardState"') kept.push(line, 'script_name = "switchyard"');
    else kept.push(line);
  }
  const file = join(dir, 'wrangler.toml');
  await writeFile(file, kept.join('\n'));
  return file;
}

/** What `wrangler dev` is given besides plain config text: the demo, or `LB_CONFIG` with more vars. */
export interface WorkerVars {
  /** `LB_DEMO=1`: the bundled examples/loadbalancer.yaml. */
  readonly demo?: true;
  /** `LB_CONFIG`. */
  readonly config?: string;
  /** More vars, such as those `${env:NAME}` reads. */
  readonly vars?: Readonly<Record<string, string>>;
}

function workerVarArgs({ demo, config, vars = {} }: WorkerVars): string[] {
  const all = { ...vars, ...(config === undefined ? {} : { LB_CONFIG: config }), ...(demo ? { LB_DEMO: '1' } : {}) };
  return Object.entries(all).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
}

/**
 * Spawns a server in its own process group and resolves once its output matches `ready`. `stop()`
 * sends SIGTERM to the whole group (wrangler starts workerd children), then SIGKILL after 10 s.
 */
function spawnServer(runtime: RuntimeName, command: string, args: string[], ready: RegExp, timeoutMs: number, env: Record<string, string> = {}): Promise<RuntimeBalancer> {
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    await stopGroup(child, exited);
    // Children that outlived the group leader (workerd under wrangler) go too.
    signalGroup(child, 'SIGKILL');
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${runtime}: not ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData).on('data', (more: Buffer) => void (output += more.toString()));
        child.stderr!.off('data', onData).on('data', (more: Buffer) => void (output += more.toString()));
        resolve({ runtime, url: match[1], output: () => output, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime}: exited with ${code} before it was ready:\n${output}`));
    });
  });
}
