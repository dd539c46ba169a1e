// The Deno entry point: `deno task serve --config FILE [--port 8080] [--hostname 127.0.0.1]`,
// with the same flags, output and exit codes as `switchyard serve` on Node (src/cli.ts).
import { parseArgs } from 'node:util';
import type { Context } from 'hono';
import { getConnInfo } from 'hono/deno';
import { createApp } from './app.ts';
import { ConfigError } from './core/config/ConfigError.ts';
import { loadConfig } from './core/config/loadConfig.ts';
import { unmapIpv4 } from './core/firewall/ipAddress.ts';
import { startHealthChecks } from './core/health/startHealthChecks.ts';
import { relayWebSocket } from './deno/relayWebSocket.ts';
import { undiciUpstream } from './upstream/undiciUpstream.ts';

const USAGE = `Usage: deno task serve --config FILE [--port 8080] [--hostname 127.0.0.1]

Serves the load balancer under Deno. --port 0 picks a free port. Prints
"listening on http://HOST:PORT" once ready; SIGTERM or SIGINT stops accepting,
finishes in-flight requests and exits 0.`;

/** How long in-flight requests may take to finish after SIGTERM or SIGINT, as on Node. */
const DRAIN_MS = 30_000;

const log = (line: string) => console.error(line);

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p', default: '8080' },
      hostname: { type: 'string', short: 'H', default: '127.0.0.1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.config) {
    console.error(`switchyard serve: --config FILE is required\n\n${USAGE}`);
    return 2;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    console.error(`switchyard serve: --port ${values.port} is not a port number (0-65535)`);
    return 2;
  }

  const config = loadConfig(await Deno.readTextFile(values.config), values.config);
  // Deno's own fetch decodes gzip and br bodies but keeps their Content-Encoding, and sends the
  // client's Host only through a custom HTTP client. undici, through Deno's Node compatibility,
  // does neither, and measured faster here than fetch with a custom client (README: Running on Node, Deno and Cloudflare Workers).
  const upstream = undiciUpstream();
  const health = startHealthChecks(config.backends, { upstream, log });
  // One round of probes before serving, so no request meets a backend already known to be down.
  await health.probeAll();
  const app = createApp({ config, upstream, clientAddress, log, webSocket: relayWebSocket });

  // Deno.serve binds before returning; onListen only replaces Deno's own "Listening on" line.
  const server = Deno.serve({ port, hostname: values.hostname, onListen: () => {} }, app.fetch);
  const { hostname, port: bound } = server.addr;
  console.log(`listening on http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${bound}`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      Deno.removeSignalListener('SIGTERM', stop);
      Deno.removeSignalListener('SIGINT', stop);
      resolve();
    };
    Deno.addSignalListener('SIGTERM', stop);
    Deno.addSignalListener('SIGINT', stop);
  });
  health.stop();
  // shutdown() stops accepting, closes idle keep-alive connections and waits for in-flight requests.
  await Promise.race([server.shutdown(), new Promise((resolve) => setTimeout(resolve, DRAIN_MS))]);
  await upstream.close();
  return 0;
}

/** The connection's peer address; IPv4-mapped IPv6 is unwrapped so rules can name plain IPv4. */
function clientAddress(c: Context): string | undefined {
  return unmapIpv4(getConnInfo(c).remote.address);
}

main(Deno.args).then(
  (code) => Deno.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else if (error instanceof Deno.errors.NotFound) console.error(`switchyard: cannot read ${configArgument()}: no such file`);
    else if (error instanceof Deno.errors.AddrInUse) console.error('switchyard: cannot listen: address already in use');
    else console.error(`switchyard: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  },
);

function configArgument(): string {
  const at = Deno.args.findIndex((arg) => arg === '--config' || arg === '-c');
  return at === -1 ? 'the config' : (Deno.args[at + 1] ?? 'the config');
}
