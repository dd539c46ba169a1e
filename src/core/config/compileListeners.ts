import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import type { Config } from './schema/index.ts';
import { LETS_ENCRYPT_DIRECTORY } from './schema/listen.ts';

/** A certificate and its key, as files the config names, and where it names them. */
export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
  /** The field path of this entry, for errors about its files. */
  readonly at: readonly (string | number)[];
}

/** `tls.acme`, compiled: files and directories still as the config names them (relative to it). */
export interface AcmeSettings {
  readonly email: string;
  readonly directory: string;
  /** A PEM file trusted for the directory's own HTTPS certificate. */
  readonly directoryCa?: string;
  readonly storage: string;
  readonly challenge: 'http-01' | 'tls-alpn-01';
  /** The field path of `acme`, for errors about its files. */
  readonly at: readonly (string | number)[];
}

/** One `listen` entry, compiled. The files it names are read outside the core (src/server). */
export interface ListenerSettings {
  /** As written: `0.0.0.0:443`, `[::]:443`. */
  readonly address: string;
  /** The host to bind, without brackets. */
  readonly host: string;
  readonly port: number;
  readonly tls?: {
    /** Empty when `acme` obtains every certificate. */
    readonly certificates: readonly CertificateFiles[];
    readonly acme?: AcmeSettings;
    readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  };
  /** Answers every request with 308 to HTTPS. */
  readonly redirectHttps: boolean;
  /** `h2`: HTTP/2 and HTTP/1.1 by ALPN (TLS); `h2c`: cleartext HTTP/2 with prior knowledge only; false: HTTP/1.1 only. */
  readonly http2: 'h2' | 'h2c' | false;
}

/**
 * Compiles `listen`: each address once, a redirect to HTTPS only on a plain listener. Empty when
 * the config has no `listen` (the command line's `--port` and `--hostname`, or their defaults, apply).
 */
export function compileListeners(config: Pick<Config, 'listen'>, problems: ConfigProblems): readonly ListenerSettings[] {
  const listeners: ListenerSettings[] = [];
  const seen = new Map<string, number>();
  config.listen?.forEach((entry, i) => {
    const at = ['listen', i];
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(entry.address)!;
    const host = match[1] ?? match[2];
    const port = Number(match[3]);
    if (port > 65535) return problems.add(new ConfigProblem([...at, 'address'], `${port} is not a port number (0-65535)`));
    const key = `${host.toLowerCase()}:${port}`;
    const first = seen.get(key);
    // Port 0 asks for a free port each time: two of them are two listeners.
    if (first !== undefined && port !== 0) return problems.add(new ConfigProblem([...at, 'address'], `listen[${first}] listens on ${entry.address} already`));
    seen.set(key, i);
    if (entry.redirect_https && entry.tls) return problems.add(new ConfigProblem([...at, 'redirect_https'], 'this listener is HTTPS already: redirect_https belongs on a plain listener'));
    if (entry.http2 === 'h2c' && entry.tls) return problems.add(new ConfigProblem([...at, 'http2'], 'h2c is cleartext HTTP/2: a TLS listener offers h2 by ALPN with http2: true'));
    if (entry.http2 === true && !entry.tls) return problems.add(new ConfigProblem([...at, 'http2'], 'HTTP/2 over a plain listener is h2c: write http2: h2c (prior knowledge only), or add tls'));
    if (entry.http2 === 'h2c' && entry.redirect_https) return problems.add(new ConfigProblem([...at, 'redirect_https'], 'an h2c listener does not redirect: redirect_https belongs on an HTTP/1.1 listener'));
    listeners.push({
      address: entry.address,
      host,
      port,
      tls: entry.tls && {
        certificates: (entry.tls.certificates ?? []).map((files, j) => ({ cert: files.cert, key: files.key, at: [...at, 'tls', 'certificates', j] })),
        acme: entry.tls.acme && {
          email: entry.tls.acme.email,
          directory: entry.tls.acme.directory ?? LETS_ENCRYPT_DIRECTORY,
          directoryCa: entry.tls.acme.directory_ca,
          storage: entry.tls.acme.storage,
          challenge: entry.tls.acme.challenge ?? 'http-01',
          at: [...at, 'tls', 'acme'],
        },
        minVersion: entry.tls.min_version ?? 'TLSv1.2',
      },
      redirectHttps: entry.redirect_https ?? false,
      http2: entry.tls ? (entry.http2 === false ? false : 'h2') : entry.http2 === 'h2c' ? 'h2c' : false,
    });
  });
  const plain = listeners.some((listener) => !listener.tls);
  for (const listener of listeners) {
    if (listener.tls?.acme?.challenge === 'http-01' && !plain) {
      problems.add(new ConfigProblem(listener.tls.acme.at, 'the http-01 challenge is answered on a plain listener, and there is none: add one (reachable on port 80), or write challenge: tls-alpn-01'));
    }
  }
  const redirecting = config.listen?.findIndex((entry) => entry.redirect_https) ?? -1;
  if (redirecting >= 0 && !config.listen?.some((entry) => entry.tls)) {
    problems.add(new ConfigProblem(['listen', redirecting, 'redirect_https'], 'no listener here has tls: the redirect sends clients to an HTTPS port this balancer does not serve', 'warning'));
  }
  return listeners;
}
