import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { CompiledConfig } from '../core/config/compileConfig.ts';
import { loadConfig, type LoadedConfig } from '../core/config/loadConfig.ts';
import type { Environment } from '../core/config/substituteEnv.ts';
import { ErrorLog } from '../core/ErrorLog.ts';
import { startHealthChecks } from '../core/health/startHealthChecks.ts';
import { undiciNodeUpstream, undiciUpstream } from '../upstream/undiciUpstream.ts';
import { answerClientError } from './clientErrorAnswer.ts';
import { ConnectionGuard } from './connectionGuard.ts';
import type { NodeWire } from './nodeWire.ts';
import { requestHandler, type HandlerOptions } from './requestHandler.ts';
import { upgradeHandler } from './upgradeHandler.ts';

export interface ServerOptions {
  /** Path of the YAML or JSON config file. */
  readonly configFile: string;
  /** @default 8080; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly hostname?: string;
  readonly log?: (line: string) => void;
  /** Where `${env:NAME}` in the config is looked up. @default none is set */
  readonly env?: Environment;
}

export interface RunningServer {
  /** `http://HOST:PORT`, with the port actually bound. */
  readonly url: string;
  readonly config: LoadedConfig;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then releases everything. */
  close(drainMs?: number): Promise<void>;
}

/**
 * Loads the config and serves the balancer from `node:http`: on Node, and on Deno through its Node
 * compatibility, so both runtimes share one server, one wire and one set of limits. Rejects with a
 * `ConfigError` on a bad config.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const config = loadConfig(await readFile(options.configFile, 'utf8'), options.configFile, { env: options.env });
  const log = options.log ?? ((line: string) => console.error(line));
  // Requests travel on the server's own streams; health probes, rare, on web ones.
  const upstream = undiciNodeUpstream<NodeWire>();
  const probes = undiciUpstream();
  // One round of probes before serving, so no request meets a backend already known to be dead.
  const health = startHealthChecks(config.backends, { upstream: probes, log });
  await health.probeAll();

  const limits = config.server;
  // One line per 5xx the balancer answers itself, a few a second per cause at most.
  const errorLog = new ErrorLog(log);
  const handler: HandlerOptions = { config: (): CompiledConfig => config, upstream, errorLog };
  const server = createServer(
    {
      // Room for a request line up to max_request_target besides fields up to max_header_size:
      // admit then answers each limit by its own status (414, 431); the parser stops only heads
      // over both.
      maxHeaderSize: limits.maxHeaderSize + limits.maxRequestTarget,
      // The connection guard keeps the client timeouts on every runtime; Node's own timers stay as
      // a backstop past them (its default keep-alive of 5 s would otherwise win).
      requestTimeout: 0,
      headersTimeout: limits.clientHeader + 1000,
      // Advertised to clients as Keep-Alive: timeout, so no later than the guard closes.
      keepAliveTimeout: limits.clientIdle,
    },
    requestHandler(handler),
  );
  // Every field is kept (Node drops those past 2,000 raw entries while still framing the body by
  // them); admit answers 431 past max_header_count.
  server.maxHeadersCount = 0;
  const guard = new ConnectionGuard(server, limits);
  server.on('upgrade', upgradeHandler(server, handler));
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Socket) => answerClientError(error, socket, limits.maxRequestTarget));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.hostname ?? '127.0.0.1', () => (server.off('error', reject), resolve()));
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    config,
    close: async (drainMs = 30_000) => {
      health.stop();
      await drain(server, guard, drainMs);
      guard.stop();
      errorLog.flush();
      await Promise.all([upstream.close(), probes.close()]);
    },
  };
}

/** Graceful stop: no new connections; idle keep-alive connections closed as soon as they are idle. */
function drain(server: Server, guard: ConnectionGuard, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    const closeIdle = () => {
      server.closeIdleConnections?.();
      guard.closeIdle();
    };
    const sweep = setInterval(closeIdle, 50);
    const deadline = setTimeout(() => guard.closeAll(), drainMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    closeIdle();
  });
}
