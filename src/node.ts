import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server, ServerResponse } from 'node:http';
import { serve, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { createApp } from './app.ts';
import { loadConfig, type LoadedConfig } from './core/config/loadConfig.ts';
import { startHealthChecks } from './core/health/startHealthChecks.ts';
import { sendDirect } from './node/sendDirect.ts';
import { undiciUpstream } from './node/undiciUpstream.ts';

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
  const upstream = undiciUpstream();
  // One round of probes before serving, so no request meets a backend already known to be dead.
  const health = startHealthChecks(config.backends, { upstream, log: options.log ?? ((line) => console.error(line)) });
  await health.probeAll();
  const app = createApp({ config, upstream, clientAddress: nodeClientAddress, requestTarget: nodeRequestTarget, log: options.log });

  const server = await new Promise<Server>((resolve, reject) => {
    const fetch = async (request: Request, env: HttpBindings | Http2Bindings) => {
      const response = await app.fetch(request, env);
      return ('statusCode' in env.outgoing && sendDirect(response, env.outgoing as ServerResponse)) || response;
    };
    const s = serve({ fetch, port: options.port ?? 8080, hostname: options.hostname ?? '127.0.0.1' }, () => resolve(s as Server));
    s.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    config,
    close: (drainMs = 30_000) => (health.stop(), drain(server, drainMs).then(() => upstream.close())),
  };
}

function nodeClientAddress(c: Context): string | undefined {
  const address = getConnInfo(c).remote.address;
  // Dual-stack sockets report IPv4 clients as IPv4-mapped IPv6; rules are written with plain IPv4.
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Node keeps the request line's target as sent; the Request URL re-encodes some query characters. */
function nodeRequestTarget(c: Context): string | undefined {
  const target = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
  return target?.charCodeAt(0) === 47 /* / */ ? target : undefined;
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
