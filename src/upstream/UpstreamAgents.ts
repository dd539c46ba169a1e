import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { Agent, type buildConnector } from 'undici';
import type { UpstreamTls } from '../core/Upstream.ts';
import { readBackendTls } from './backendTls.ts';
import { connectDroppingContinue } from './connectDroppingContinue.ts';

/**
 * The undici agents of an upstream client, one per connect timeout (a connection pool's setting)
 * and TLS settings. A backend's TLS files are read when its settings object is first used, so once
 * per config: a reload compiles new ones, and the files are read again. One whose files are
 * unchanged keeps its agent and connections; a changed file gets a new agent, and the one it
 * replaces is closed, gracefully: its requests in flight finish.
 */
export class UpstreamAgents {
  /** For plain `http://` backends, by connect timeout. */
  readonly #plain = new Map<number, Agent>();
  /** For `https://` backends, by connect timeout, settings as written, and the contents of their files. */
  readonly #agents = new Map<string, Agent>();
  /** The agent key now in use for settings as written, to close the agent a changed file replaces. */
  readonly #current = new Map<string, string>();
  /** What each settings object got, by connect timeout: files are read once per object. */
  readonly #resolved = new WeakMap<UpstreamTls, Map<number, Agent>>();

  /** The agent for a connection with this connect timeout and, to an `https://` backend, these TLS settings. */
  for(connectTimeout: number, tls: UpstreamTls | undefined): Agent {
    if (!tls) {
      let agent = this.#plain.get(connectTimeout);
      if (!agent) this.#plain.set(connectTimeout, (agent = newAgent({ timeout: connectTimeout })));
      return agent;
    }
    let byTimeout = this.#resolved.get(tls);
    const known = byTimeout?.get(connectTimeout);
    // Closed: a changed file replaced it since (these are settings of the config before a reload,
    // used by a request admitted before it), so the files are looked at again.
    if (known && !known.closed) return known;
    const files = readBackendTls(tls);
    const written = JSON.stringify([connectTimeout, tls.servername, tls.verify, tls.ca, tls.cert, tls.key]);
    const key = JSON.stringify([written, files.ca, files.cert, files.key]);
    const replaced = this.#current.get(written);
    this.#current.set(written, key);
    if (replaced !== undefined && replaced !== key) {
      void this.#agents.get(replaced)?.close();
      this.#agents.delete(replaced);
    }
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = newAgent({
        timeout: connectTimeout,
        ...files,
        rejectUnauthorized: tls.verify,
        // The configured name, not the one undici takes from the Host header: a client must not
        // choose the name a backend's certificate is checked against.
        servername: isIP(tls.servername) ? undefined : tls.servername,
        checkServerIdentity: (_host, certificate) => checkServerIdentity(tls.servername, certificate),
      });
      this.#agents.set(key, agent);
    }
    if (!byTimeout) this.#resolved.set(tls, (byTimeout = new Map()));
    byTimeout.set(connectTimeout, agent);
    return agent;
  }

  /** Closes every agent once its requests are done. */
  async close(): Promise<void> {
    await Promise.all([...this.#plain.values(), ...this.#agents.values()].map((agent) => agent.close()));
  }
}

function newAgent(options: buildConnector.BuildOptions & ConnectionOptions): Agent {
  // One request at a time per connection, as `connectDroppingContinue` needs (undici's default).
  return new Agent({ connect: connectBackend(options), pipelining: 1, keepAliveTimeout: 4_000 });
}

/**
 * undici's connector as `connectDroppingContinue` builds it, with two repairs for `https://`
 * backends: the name sent (SNI) is the agent's own, never an IP address (RFC 6066 section 3; Deno
 * refuses one, Node deprecates it), and a TLS alert the backend sends once the handshake is over
 * (how TLS 1.3 refuses a missing client certificate) is the connection's error, where undici
 * would report only "other side closed".
 */
function connectBackend(options: buildConnector.BuildOptions & ConnectionOptions): buildConnector.connector {
  const connect = connectDroppingContinue(options);
  const servername = options.servername;
  return (target, callback) =>
    connect(target.protocol === 'https:' ? { ...target, servername } : target, (...result) => {
      const socket = result[1];
      socket?.on('error', (error: { code?: unknown }) => {
        // Destroyed before its 'end', so undici fails the request with this error (client-h1.js).
        if (typeof error.code === 'string' && error.code.startsWith('ERR_SSL_')) socket.destroy();
      });
      callback(...result);
    });
}
