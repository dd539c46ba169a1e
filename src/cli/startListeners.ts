import type { ListenerSettings } from '../core/config/compileListeners.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';
import { startServer, type RunningServer, type ServerOptions } from '../server/startServer.ts';
import { listenFailure } from './CommandFailure.ts';

/** `--port` and `--hostname`: either makes one plain listener, replacing the config's `listen` (default 8080 on 127.0.0.1). */
export interface ListenFlags {
  readonly port?: number;
  readonly hostname?: string;
}

/** The routed listeners `serve` opens, and whether they are the config's (a config without `listen` gets the flags' one). */
export function listenersFor(flags: ListenFlags, config: LoadedConfig): Pick<ServerOptions, 'listeners' | 'fromConfig'> {
  const fromConfig = flags.port === undefined && flags.hostname === undefined && config.listeners.length > 0;
  return { listeners: fromConfig ? config.listeners : [plainListener(flags.hostname ?? '127.0.0.1', flags.port ?? 8080)], fromConfig };
}

/** `startServer`, with a listen error (a taken port, an address not here) in the words `serve` prints. */
export function startOrExplain(options: ServerOptions): Promise<RunningServer> {
  return startServer(options).catch((error: unknown) => {
    const failed = (error as { listener?: ListenerSettings }).listener;
    throw (failed && listenFailure(error, failed.host, failed.port)) ?? error;
  });
}

/** The one listener `--port` and `--hostname` make. */
export function plainListener(host: string, port: number): ListenerSettings {
  return { address: `${host.includes(':') ? `[${host}]` : host}:${port}`, host, port, redirectHttps: false, http2: false };
}
