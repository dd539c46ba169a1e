import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { CompiledConfig } from '../core/config/compileConfig.ts';
import { ErrorLog } from '../core/ErrorLog.ts';
import type { RequestObserver } from '../core/observe/RequestRecord.ts';
import { undiciNodeUpstream } from '../upstream/undiciUpstream.ts';
import { answerClientError } from './clientErrorAnswer.ts';
import { ConnectionGuard } from './connectionGuard.ts';
import type { LiveConfig } from './LiveConfig.ts';
import type { NodeWire } from './nodeWire.ts';
import { requestHandler, type HandlerOptions } from './requestHandler.ts';
import { upgradeHandler } from './upgradeHandler.ts';

export interface ServerOptions {
  /** The config to serve, and its reloads. */
  readonly live: LiveConfig;
  /** @default 8080; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly hostname?: string;
  readonly log?: (line: string) => void;
  /** Told of every request once it is answered (access log, metrics). @default none */
  readonly observe?: RequestObserver;
}

export interface RunningServer {
  /** `http://HOST:PORT`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then releases everything. */
  close(drainMs?: number): Promise<void>;
}

/**
 * Serves the balancer from `node:http`: on Node, and on Deno through its Node compatibility, so
 * both runtimes share one server, one wire and one set of limits. Each request is served by the
 * config in use when it arrives.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { live } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  // Requests travel on the server's own streams.
  const upstream = undiciNodeUpstream<NodeWire>();

  const limits = live.config.server;
  // One line per 5xx the balancer answers itself, a few a second per cause at most.
  const errorLog = new ErrorLog(log);
  const handler: HandlerOptions = { config: (): CompiledConfig => live.config, upstream, errorLog, observe: options.observe };
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
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Socket) => answerClientError(error, socket, live.config.server.maxRequestTarget));
  // A reload's limits and client timeouts: admit reads them per request; the parser's bound and
  // the guard's timers take them up here, for connections from now on.
  live.onReload((next) => {
    // Read by node:http for each new connection's parser; not in its types.
    (server as Server & { maxHeaderSize: number }).maxHeaderSize = next.server.maxHeaderSize + next.server.maxRequestTarget;
    server.headersTimeout = next.server.clientHeader + 1000;
    server.keepAliveTimeout = next.server.clientIdle;
    guard.update(next.server);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.hostname ?? '127.0.0.1', () => (server.off('error', reject), resolve()));
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    close: async (drainMs = 30_000) => {
      await drain(server, guard, drainMs);
      guard.stop();
      errorLog.flush();
      await upstream.close();
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
