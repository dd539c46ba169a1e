import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer as createSecureHttp2Server, createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { SecureContext, Server as TlsServer } from 'node:tls';
import type { ListenerSettings } from '../core/config/compileListeners.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';
import type { ServerSettings } from '../core/config/serverSettings.ts';
import { AcmeCertificates } from '../acme/AcmeCertificates.ts';
import { acmeHosts } from '../acme/acmeHosts.ts';
import { alpnChallengeFront, type AlpnChallengeFront } from '../acme/alpnChallengeFront.ts';
import { Http01Answers } from '../acme/Http01Answers.ts';
import { normalizeHost } from '../core/routing/normalizeHost.ts';
import { CertificateStore, configRelative } from './certificates.ts';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
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
  /**
   * Where to listen, in order: the config's `listen` (then a reload may renew the certificates,
   * and refuses to change the addresses), or the command line's one plain listener.
   */
  readonly listeners: readonly ListenerSettings[];
  /** Whether `listeners` are the config's, to be compared with each reloaded config's. */
  readonly fromConfig: boolean;
  readonly log?: (line: string) => void;
  /** Told of every request once it is answered (access log, metrics). @default none */
  readonly observe?: RequestObserver;
}

export interface RunningServer {
  /** `http://HOST:PORT` or `https://HOST:PORT` per listener, in order, with the ports actually bound. */
  readonly urls: readonly string[];
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then releases everything. */
  close(drainMs?: number): Promise<void>;
  /** Every certificate name served and its expiry, in seconds since the epoch: the files', then those `tls.acme` obtained. */
  certificateExpiries(): Map<string, number>;
}

/** One listening server, its connections' guard, its HTTP/2 connections, and for TLS its certificates. */
interface Listener {
  readonly server: Server;
  readonly guard: ConnectionGuard;
  readonly settings: ListenerSettings;
  readonly sessions: Set<Http2Session>;
  certificates?: CertificateStore;
  /** `tls.acme`: the certificates it obtains, asked after the files' for the names those do not hold. */
  acme?: AcmeCertificates;
  /** With `challenge: tls-alpn-01`, what binds the port and answers the CA's validations before `server` (alpnChallengeFront). */
  front?: AlpnChallengeFront;
}

/** What holds the listener's port: the front of TLS-ALPN-01, if there is one, else the server itself. */
const boundOf = (listener: Listener): NetServer => listener.front ?? listener.server;

/**
 * Serves the balancer from `node:http` and `node:https`: on Node, and on Deno through its Node
 * compatibility, so both runtimes share one server, one wire and one set of limits, on every
 * listener. Each request is served by the config in use when it arrives.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { live } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  // Requests travel on the server's own streams.
  const upstream = undiciNodeUpstream<NodeWire>();
  // One line per 5xx the balancer answers itself, a few a second per cause at most.
  const errorLog = new ErrorLog(log);
  const handler: HandlerOptions = { config: (): CompiledConfig => live.config, upstream, errorLog, observe: options.observe };
  // Where redirect_https sends clients: the first TLS listener's port, once it is bound (0 picks one).
  const https = options.listeners.findIndex((listener) => listener.tls);
  // HTTP-01 answers, on every plain listener, when a TLS listener orders certificates with them.
  const http01 = options.listeners.some((listener) => listener.tls?.acme?.challenge === 'http-01') ? new Http01Answers(log) : undefined;
  const redirect = { port: https >= 0 ? options.listeners[https].port : 443, certificatePending: (host: string) => listeners.some(({ acme }) => acme?.covers(host) && !acme.contextFor(host)) };
  const listeners: Listener[] = options.listeners.map((settings) =>
    openListener(settings, live, { ...handler, redirectHttps: settings.redirectHttps ? redirect : undefined, acmeChallenges: settings.tls ? undefined : http01 }, { http01, log }),
  );
  // The storage directories exist before anything is served: one that cannot be made stops the start.
  for (const { acme, settings } of listeners) {
    if (!acme) continue;
    await acme.storage.open().catch((error: unknown) => {
      throw new Error(`${settings.address}: tls.acme.storage: cannot use ${acme.storage.dir}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  // A reload's limits and client timeouts: admit reads them per request; the parsers' bound and
  // the guards' timers take them up here, for connections from now on. Certificates are read
  // again; the addresses, which would need sockets closed and opened, are not changed.
  live.onReload((next) => {
    if (options.fromConfig) checkSameListeners(options.listeners, next.listeners);
    // Read now, so a certificate that cannot be used refuses the reload; put in use with the swap.
    const renewed = listeners.map((listener, i) =>
      options.fromConfig && listener.settings.tls ? certificatesOf(next, next.listeners[i]) : undefined,
    );
    return {
      commit() {
        listeners.forEach((listener, i) => {
          applyLimits(listener.server, next.server);
          listener.guard.update(next.server);
          const certificates = renewed[i];
          if (!certificates) return;
          listener.certificates = certificates;
          // The context for clients that send no name; SNI picks from `listener.certificates`. Set
          // without files too (tls.acme alone): OpenSSL takes the protocol versions from this one,
          // not from the context SNI picks, so a new min_version applies to every name.
          (listener.server as unknown as TlsServer).setSecureContext(certificates.serverOptions);
          // Routes added or removed: their names are ordered, or no longer renewed.
          if (listener.acme) listener.acme.setHosts(hostsToOrder(next, certificates, log));
        });
      },
    };
  });

  try {
    await Promise.all(listeners.map((listener) => listen(boundOf(listener), listener.settings)));
  } catch (error) {
    for (const listener of listeners) boundOf(listener).close();
    throw Object.assign(error as Error, { listener: (error as { listener?: ListenerSettings }).listener });
  }
  if (https >= 0) redirect.port = (boundOf(listeners[https]).address() as AddressInfo).port;
  // Ordered once every listener answers, so the CA's validation finds the challenges.
  for (const listener of listeners) listener.acme?.setHosts(hostsToOrder(live.config, listener.certificates!, log));
  return {
    urls: listeners.map((listener) => {
      const { settings } = listener;
      const { address, port } = boundOf(listener).address() as AddressInfo;
      return `${settings.tls ? 'https' : 'http'}://${address.includes(':') ? `[${address}]` : address}:${port}`;
    }),
    certificateExpiries: () => {
      const expiries = new Map<string, number>();
      for (const { certificates, acme } of listeners) {
        for (const [name, at] of [...(certificates?.expiries() ?? []), ...(acme?.expiries() ?? [])]) if (!expiries.has(name)) expiries.set(name, at);
      }
      return expiries;
    },
    close: async (drainMs = 30_000) => {
      await Promise.all(listeners.map(({ acme }) => acme?.stop()));
      await Promise.all(listeners.map((listener) => drain(listener, drainMs)));
      for (const { guard } of listeners) guard.stop();
      errorLog.flush();
      await upstream.close();
    },
  };
}

function openListener(settings: ListenerSettings, live: LiveConfig, handler: HandlerOptions, acmeNeeds: { http01?: Http01Answers; log: (line: string) => void }): Listener {
  const limits = live.config.server;
  const options = {
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
  };
  const listener: { certificates?: CertificateStore; acme?: AcmeCertificates; front?: AlpnChallengeFront } = {};
  const handle = requestHandler(handler);
  // node:http2's compatibility objects have what the handler reads and writes (clientRequest.ts
  // and nodeWire.ts take the differences into account).
  const handleHttp2 = handle as unknown as (request: Http2ServerRequest, response: Http2ServerResponse) => void;
  let server: Server;
  if (settings.tls) {
    listener.certificates = certificatesOf(live.config, settings);
    const { acme } = settings.tls;
    if (acme) {
      listener.acme = new AcmeCertificates({
        settings: acme,
        storage: configRelative(live.config, acme.storage),
        directoryCa: acme.directoryCa === undefined ? undefined : configRelative(live.config, acme.directoryCa),
        contextOptions: listener.certificates.serverOptions,
        http01: acme.challenge === 'http-01' ? acmeNeeds.http01 : undefined,
        log: acmeNeeds.log,
        firstRetryMs: testFirstRetryMs(),
      });
    }
    const tlsOptions = {
      ...listener.certificates.serverOptions,
      // The certificate for the name the client asks for (the files' renewed on reload, acme's when
      // issued); none at all ends the handshake with an alert.
      SNICallback: (servername: string, done: (error: Error | null, context?: SecureContext) => void) => {
        const context = listener.certificates!.pick(servername, (name) => listener.acme?.contextFor(name));
        if (context) done(null, context);
        else done(new Error(`no certificate for ${servername || 'a client that sent no name'}${listener.acme?.covers(normalizeHost(servername)) ? ' yet: tls.acme is obtaining it' : ''}`));
      },
      // A client that never finishes its handshake is let go as one that never sends its head.
      handshakeTimeout: limits.clientHeader,
    };
    server =
      settings.http2 === 'h2'
        ? // ALPN offers h2 and http/1.1; HTTP/1.1 connections are served by node:http's own code,
          // with the same request handler and the same options (set on the server below).
          (createSecureHttp2Server({ ...tlsOptions, allowHTTP1: true, settings: http2Settings(limits) }, handleHttp2) as unknown as Server)
        : createHttpsServer({ ...options, ...tlsOptions }, handle);
  } else if (settings.http2 === 'h2c') {
    server = createHttp2Server({ settings: http2Settings(limits) }, handleHttp2) as unknown as Server;
  } else {
    server = createServer(options, handle);
  }
  if (settings.http2) {
    // node:http reads these from the server for the HTTP/1.1 connections it serves here.
    Object.assign(server, { requestTimeout: 0, headersTimeout: options.headersTimeout, keepAliveTimeout: options.keepAliveTimeout });
    applyLimits(server, limits);
    // An HTTP/2 connection with no stream open for client_idle is closed (GOAWAY).
    server.setTimeout(limits.clientIdle);
  }
  // Every field is kept (Node drops those past 2,000 raw entries while still framing the body by
  // them); admit answers 431 past max_header_count.
  server.maxHeadersCount = 0;
  const guard = new ConnectionGuard(server, limits, undefined, settings.http2 === 'h2c');
  server.on('upgrade', upgradeHandler(server, handler));
  // Each HTTP/2 connection, to be told to stop (GOAWAY) when the balancer drains.
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });

  if (listener.acme && settings.tls?.acme?.challenge === 'tls-alpn-01') {
    // Deno's TLS (rustls) parses a certificate before it serves it and refuses one carrying a
    // critical extension it does not know: Deno.listenTls says `invalid peer certificate:
    // Other(OtherError(UnsupportedCriticalExtension))`, node:tls ends the handshake with
    // ERR_SSL_UNSUPPORTED_PROTOCOL (an SNICallback context too). RFC 8737 section 3 requires the
    // challenge certificate's acmeIdentifier extension to be critical, and the CAs check it
    // (Let's Encrypt refuses a non-critical one, pebble answers `Missing acmeValidationV1
    // extension`), so no shape of that certificate passes both (rustls/webpki#281). CA:TRUE and
    // the key type are not the cause.
    // Refused here rather than failing every order.
    if ('Deno' in globalThis) throw new Error(`listen ${settings.address}: tls.acme.challenge: tls-alpn-01 does not work on Deno (its TLS refuses to serve a certificate with a critical extension it does not know, and RFC 8737 requires the challenge certificate's acmeIdentifier extension to be critical); write challenge: http-01, or run on Node`);
    const acme = listener.acme;
    listener.front = alpnChallengeFront(server, { challengeFor: (host) => acme.challengeContextFor(host), helloTimeout: () => live.config.server.clientHeader, log: acmeNeeds.log });
  }
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Socket) => answerClientError(error, socket, live.config.server.maxRequestTarget, handler.observe));
  // A client that gives up during the handshake is no one's error.
  server.on('tlsClientError', () => {});
  return Object.assign(listener, { server, guard, settings, sessions });
}

/** A certificate file's that holds the name, else the one `tls.acme` obtained for it, else the first file's. */
/** The route names `tls.acme` orders for; the ones it cannot, logged with why. */
function hostsToOrder(config: LoadedConfig, certificates: CertificateStore, log: (line: string) => void): readonly string[] {
  const { hosts, skipped } = acmeHosts(
    config.routesInOrder.map((route) => route.host),
    (host) => certificates.find(host) !== undefined,
  );
  for (const [host, why] of skipped) log(`acme: ${host}: no certificate ordered: ${why}`);
  return hosts;
}

function certificatesOf(config: LoadedConfig, settings: ListenerSettings): CertificateStore {
  return new CertificateStore(config, settings.tls!.certificates, settings.tls!.minVersion);
}

/** HTTP/2's own bounds, from the same limits as HTTP/1.1's: admit answers 431 past the head's. */
function http2Settings(limits: ServerSettings) {
  return { maxHeaderListSize: limits.maxHeaderSize + limits.maxRequestTarget + 1024 };
}

function applyLimits(server: Server, limits: ServerSettings): void {
  // Read by node:http for each new connection's parser; not in its types.
  (server as Server & { maxHeaderSize: number }).maxHeaderSize = limits.maxHeaderSize + limits.maxRequestTarget;
  server.headersTimeout = limits.clientHeader + 1000;
  server.keepAliveTimeout = limits.clientIdle;
}

/**
 * Refuses a reload whose listeners differ from those in use (the same addresses, each plain or TLS,
 * with the same tls.acme, redirecting or not, in order): moving one would need sockets closed and opened.
 */
export function checkSameListeners(current: readonly ListenerSettings[], next: readonly ListenerSettings[]): void {
  const shape = (list: readonly ListenerSettings[]) => JSON.stringify(list.map((listener) => [listener.host, listener.port, !!listener.tls, listener.tls?.acme, listener.redirectHttps, listener.http2]));
  if (shape(current) !== shape(next)) throw new Error('listen: the listeners (addresses, tls, tls.acme, redirect_https, http2) change only with a restart; the certificates of a listener are renewed by a reload');
}

function listen(server: NetServer, settings: ListenerSettings): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(Object.assign(error, { listener: settings }));
    server.once('error', failed);
    server.listen(settings.port, settings.host, () => (server.off('error', failed), resolve()));
  });
}

/** Graceful stop: no new connections; idle keep-alive connections closed as soon as they are idle. */
function drain(listener: Listener, drainMs: number): Promise<void> {
  const { server, guard, sessions, front } = listener;
  // Behind a front, the server holds no port: the front counts the connections handed over.
  if (front) server.close();
  const bound = front ?? server;
  return new Promise((resolve) => {
    const closeIdle = () => {
      server.closeIdleConnections?.();
      guard.closeIdle();
      // GOAWAY: no new streams; the session closes once its open streams have finished.
      for (const session of sessions) if (!session.closed) session.close();
    };
    const sweep = setInterval(closeIdle, 50);
    const deadline = setTimeout(() => {
      guard.closeAll();
      front?.cutUnhanded();
    }, drainMs);
    bound.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    closeIdle();
  });
}

/**
 * Test only: `SWITCHYARD_TEST_ACME_FIRST_RETRY_MS` shortens the first wait after a failed ACME
 * order (1 min), so the e2e test of a CA that comes up after the balancer does not wait a minute
 * per runtime. Unset in production.
 */
function testFirstRetryMs(): number | undefined {
  const value = Number(process.env.SWITCHYARD_TEST_ACME_FIRST_RETRY_MS);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}
