import { connect, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { UpstreamTls } from '../core/Upstream.ts';
import { UpstreamError, upstreamErrorOf } from '../core/UpstreamError.ts';
import { readBackendTls, type BackendTlsFiles } from './backendTls.ts';

/** A session with no stream open for this long is closed (GOAWAY), as idle HTTP/1.1 connections are. */
const IDLE_MS = 60_000;

interface Entry {
  readonly ready: Promise<ClientHttp2Session>;
  readonly session: ClientHttp2Session;
  /** Streams open on it, so an idle timeout never closes a session under a long call. */
  streams: number;
}

/**
 * The HTTP/2 connections of an upstream client: one session per backend origin, connect timeout
 * and TLS settings, shared by every request to it (HTTP/2 multiplexes). A session that is told
 * GOAWAY, fails or closes is forgotten, and the next request opens a new one; one idle for a minute
 * is closed. TLS files are read once per settings object (once per compiled config), as
 * `UpstreamAgents` reads them.
 */
export class Http2Sessions {
  readonly #entries = new Map<string, Entry>();
  readonly #files = new WeakMap<UpstreamTls, BackendTlsFiles>();
  /** Session keys by TLS settings object, then by connect timeout and origin: made once, not per request. */
  readonly #keys = new WeakMap<UpstreamTls, Map<string, string>>();

  /**
   * A connected session to `origin`, `http://` for cleartext HTTP/2 with prior knowledge,
   * `https://` for HTTP/2 offered by ALPN. Rejects with an `UpstreamError`: `connect` when the
   * connection was never opened, `timeout` after `connectTimeout`, `failed` for a TLS refusal or a
   * server that does not speak HTTP/2.
   */
  async open(origin: string, connectTimeout: number, tls: UpstreamTls | undefined): Promise<{ session: ClientHttp2Session; release(): void }> {
    const key = tls ? this.#keyOf(tls, origin, connectTimeout) : `${connectTimeout} ${origin}`;
    let entry = this.#entries.get(key);
    if (!entry || entry.session.closed || entry.session.destroyed) {
      entry = this.#connect(key, origin, connectTimeout, tls, tls && this.#filesOf(tls));
      this.#entries.set(key, entry);
    }
    const session = await entry.ready;
    const opened = entry;
    opened.streams++;
    let released = false;
    return {
      session,
      release: () => {
        if (!released) opened.streams--;
        released = true;
      },
    };
  }

  /** Closes every session once its streams are done. */
  async close(): Promise<void> {
    const sessions = [...this.#entries.values()].map((entry) => entry.session);
    this.#entries.clear();
    await Promise.all(sessions.map((session) => new Promise<void>((resolve) => (session.closed ? resolve() : session.close(() => resolve())))));
  }

  /** The settings as written and the contents of their files: a changed file after a reload is a new session. */
  #keyOf(tls: UpstreamTls, origin: string, connectTimeout: number): string {
    let keys = this.#keys.get(tls);
    if (!keys) this.#keys.set(tls, (keys = new Map()));
    const place = `${connectTimeout} ${origin}`;
    let key = keys.get(place);
    if (key === undefined) keys.set(place, (key = JSON.stringify([place, tls.servername, tls.verify, this.#filesOf(tls)])));
    return key;
  }

  #filesOf(tls: UpstreamTls): BackendTlsFiles {
    let files = this.#files.get(tls);
    if (!files) this.#files.set(tls, (files = readBackendTls(tls)));
    return files;
  }

  #connect(key: string, origin: string, connectTimeout: number, tls: UpstreamTls | undefined, files: BackendTlsFiles | undefined): Entry {
    const forget = () => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    };
    const options: SecureClientSessionOptions = tls
      ? {
          ...files,
          ALPNProtocols: ['h2'],
          rejectUnauthorized: tls.verify,
          // The configured name, never an IP address (RFC 6066 section 3), as UpstreamAgents sends it.
          servername: isIP(tls.servername) ? undefined : tls.servername,
          checkServerIdentity: (_host, certificate) => checkServerIdentity(tls.servername, certificate),
        }
      : {};
    const session = connect(origin, { ...options, settings: { enablePush: false } });
    const ready = new Promise<ClientHttp2Session>((resolve, reject) => {
      const timer = setTimeout(() => session.destroy(new UpstreamError('timeout', `connect timeout: no HTTP/2 connection to ${origin} within ${connectTimeout} ms`)), connectTimeout);
      session.once('connect', () => {
        clearTimeout(timer);
        // Over TLS the server may have chosen HTTP/1.1: then it cannot be spoken to as asked.
        const alpn = (session.socket as { alpnProtocol?: string | false } | undefined)?.alpnProtocol;
        if (tls && alpn !== undefined && alpn !== 'h2') {
          session.destroy();
          return reject(new UpstreamError('failed', `${origin} does not offer HTTP/2 (ALPN chose ${alpn || 'nothing'}); use protocol: http1 for it`));
        }
        resolve(session);
      });
      session.on('error', (error) => {
        clearTimeout(timer);
        forget();
        reject(upstreamErrorOf(error));
      });
      session.once('close', () => {
        clearTimeout(timer);
        forget();
        reject(new UpstreamError('connect', `the HTTP/2 connection to ${origin} closed before it was ready`));
      });
    });
    const entry: Entry = { ready, session, streams: 0 };
    // No new streams on a session the backend is leaving; those open finish (RFC 9113 section 6.8).
    session.once('goaway', forget);
    session.setTimeout(IDLE_MS, () => {
      if (entry.streams > 0) return;
      forget();
      session.close();
    });
    // A failed connection is each waiting request's error; nobody else must see it unhandled.
    entry.ready.catch(() => {});
    return entry;
  }
}
