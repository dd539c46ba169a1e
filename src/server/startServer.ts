import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, Hono } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createApp } from '../app.ts';
import { loadConfig, type LoadedConfig } from '../core/config/loadConfig.ts';
import { unmapIpv4 } from '../core/firewall/ipAddress.ts';
import { startHealthChecks } from '../core/health/startHealthChecks.ts';
import { offersWebSocket } from '../core/proxy/webSocket.ts';
import { spliceWebSocket, writeRawResponse, type UpgradeBindings } from './spliceWebSocket.ts';
import { undiciNodeUpstream, undiciUpstream } from '../upstream/undiciUpstream.ts';
import { nodeRequestHandler } from './requestHandler.ts';
import type { NodeWire } from './nodeWire.ts';
import { plainResponse } from '../core/responses.ts';

export interface NodeServerOptions {
  /** Path of the YAML or JSON config file. */
  readonly configFile: string;
  /** @default 8080; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly hostname?: string;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  /** `http://HOST:PORT`, with the port actually bound. */
  readonly url: string;
  readonly config: LoadedConfig;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then releases everything. */
  close(drainMs?: number): Promise<void>;
}

/** Loads the config and serves the balancer on Node. Rejects with a `ConfigError` on a bad config. */
export async function startNodeServer(options: NodeServerOptions): Promise<RunningServer> {
  const config = loadConfig(await readFile(options.configFile, 'utf8'), options.configFile);
  const log = options.log ?? ((line: string) => console.error(line));
  // Requests travel on Node's own streams; health probes, rare, on web ones. The app (which Node
  // asks only for WebSocket upgrades, spliced by spliceWebSocket) is given the probes' client.
  const upstream = undiciNodeUpstream<NodeWire>();
  const probes = undiciUpstream();
  // One round of probes before serving, so no request meets a backend already known to be dead.
  const health = startHealthChecks(config.backends, { upstream: probes, log });
  await health.probeAll();
  const app = createApp({ config, upstream: probes, clientAddress: nodeClientAddress, requestTarget: nodeRequestTarget, webSocket: spliceWebSocket, log });

  const server = createServer(nodeRequestHandler({ config, upstream, log }));
  server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(server, app, incoming, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.hostname ?? '127.0.0.1', () => (server.off('error', reject), resolve()));
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    config,
    close: (drainMs = 30_000) => (health.stop(), drain(server, drainMs).then(() => Promise.all([upstream.close(), probes.close()])).then(() => {})),
  };
}

function nodeClientAddress(c: Context): string | undefined {
  return unmapIpv4(getConnInfo(c).remote.address);
}

/** Node keeps the request line's target as sent; the Request URL re-encodes some query characters. */
function nodeRequestTarget(c: Context): string | undefined {
  const target = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
  return target?.charCodeAt(0) === 47 /* / */ ? target : undefined;
}

/**
 * Node hands every request carrying `Upgrade` to the `upgrade` event, outside the adapter.
 * A WebSocket upgrade goes through the same app (routing, firewall, rules), which either splices
 * the connections or answers with a refusal. Any other upgrade (`h2c`, say) is declined as HTTP
 * allows (RFC 9110 section 7.8): the request is served as the plain request it also is, when it
 * carries no body; one with a body cannot be read here any more, and is refused.
 */
async function upgrade(server: Server, app: Hono, incoming: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => {});
  const hasBody = incoming.headers['content-length'] !== undefined || incoming.headers['transfer-encoding'] !== undefined;
  if (!offersWebSocket(incoming.method, incoming.headers.upgrade)) {
    if (hasBody || head.length > 0) {
      return writeRawResponse(socket, plainResponse(501, 'Not Implemented: an upgrade request with a body'));
    }
    const response = new ServerResponse(incoming);
    response.shouldKeepAlive = false;
    response.assignSocket(socket as Socket);
    response.once('finish', () => socket.end());
    server.emit('request', incoming, response);
    return;
  }
  try {
    const headers = new Headers();
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) headers.append(incoming.rawHeaders[i], incoming.rawHeaders[i + 1]);
    const request = new Request(`http://${incoming.headers.host ?? 'localhost'}${incoming.url ?? '/'}`, { headers });
    const bindings: UpgradeBindings = { incoming, socket, head };
    const response = await app.fetch(request, bindings);
    if (response !== RESPONSE_ALREADY_SENT) await writeRawResponse(socket, response);
  } catch {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  }
}

/** Graceful stop: no new connections; idle keep-alive connections closed as soon as they are idle. */
function drain(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), drainMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
