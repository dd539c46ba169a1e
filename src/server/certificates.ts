import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { ConfigIssue } from '../core/config/ConfigError.ts';
import { besideConfigFile } from '../core/config/besideConfigFile.ts';
import type { CertificateFiles, ListenerSettings } from '../core/config/compileListeners.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';
import { normalizeHost } from '../core/routing/normalizeHost.ts';

/**
 * TLS 1.2's suites: forward-secret AEAD only (Mozilla's "intermediate" list). Node's default adds
 * CBC suites (`HIGH`); TLS 1.3's suites are set apart and are all AEAD.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** A file a config names, as `besideConfigFile` takes it (relative to the config file's directory), made absolute for messages. */
export function configRelative(config: Pick<LoadedConfig, 'file'>, path: string): string {
  return resolve(besideConfigFile(config.file, path));
}

/** The DNS names a certificate is for: its subjectAltName's, or its subject's CN when it has none. */
export function namesOf(certificate: X509Certificate): string[] {
  const alt = certificate.subjectAltName;
  if (alt) return alt.split(/,\s*/).flatMap((entry) => (entry.startsWith('DNS:') ? [entry.slice(4).toLowerCase()] : []));
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/**
 * A TLS listener's certificates, chosen by the name the client asks for (SNI): an exact name
 * first, then the wildcard one label up (`*.example.com` for `a.example.com`, as RFC 6125 allows),
 * else the first certificate, which is also the one for clients that send no name. Empty on a
 * listener whose certificates all come from `tls.acme`.
 */
export class CertificateStore {
  readonly #exact = new Map<string, SecureContext>();
  readonly #wildcard = new Map<string, SecureContext>();
  /** Each name's expiry, in seconds since the epoch (`switchyard_certificate_expiry_timestamp_seconds`). */
  readonly #expiries = new Map<string, number>();
  readonly first: SecureContext | undefined;
  /**
   * The options of the listener's own context, for clients that send no name: the first
   * certificate, with every listener's protocol settings (given to `createServer` and, on reload,
   * `setSecureContext`); the protocol settings alone when there is no certificate.
   */
  readonly serverOptions: SecureContextOptions;

  /** Reads and parses every certificate; throws on a file that cannot be read (checkListenerTls reports those first). */
  constructor(config: Pick<LoadedConfig, 'file'>, certificates: readonly CertificateFiles[], minVersion: 'TLSv1.2' | 'TLSv1.3') {
    let first: SecureContext | undefined;
    // TLS 1.2 at least (`min_version`), AEAD suites only, in the server's order of preference;
    // session resumption by tickets is on by default (there is no session cache, which would be per process).
    const protocol: SecureContextOptions = { minVersion, ciphers: TLS12_CIPHERS, honorCipherOrder: true };
    let serverOptions: SecureContextOptions | undefined;
    for (const files of certificates) {
      const cert = readFileSync(configRelative(config, files.cert));
      const key = readFileSync(configRelative(config, files.key));
      const options: SecureContextOptions = { ...protocol, cert, key };
      const context = createSecureContext(options);
      first ??= context;
      serverOptions ??= options;
      const x509 = new X509Certificate(cert);
      for (const name of namesOf(x509)) {
        const table = name.startsWith('*.') ? this.#wildcard : this.#exact;
        const bare = name.startsWith('*.') ? name.slice(2) : name;
        if (!table.has(bare)) table.set(bare, context);
        if (!this.#expiries.has(name)) this.#expiries.set(name, Date.parse(x509.validTo) / 1000);
      }
    }
    this.first = first;
    this.serverOptions = serverOptions ?? protocol;
  }

  /**
   * The context for a client's SNI name: a file's, else `elsewhere`'s for the normalized name
   * (`tls.acme`'s), else the first certificate's.
   */
  pick(servername: string | undefined, elsewhere?: (name: string) => SecureContext | undefined): SecureContext | undefined {
    if (!servername) return this.first;
    return this.find(servername) ?? elsewhere?.(normalizeHost(servername)) ?? this.first;
  }

  /** The certificate that holds `servername`, exactly or by a wildcard one label up; none falls back to the first. */
  find(servername: string): SecureContext | undefined {
    const name = normalizeHost(servername);
    const exact = this.#exact.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
  }

  /** Each certificate name's expiry, in seconds since the epoch. */
  expiries(): Iterable<[string, number]> {
    return this.#expiries.entries();
  }
}

/**
 * The listeners' certificate files, checked as `check` and every reload check them: each must be
 * readable PEM, its key must belong to it, and it must be valid now; a certificate none of whose
 * names a route serves is a warning (a path-only route serves every name, so then none is).
 * `tls.acme.directory_ca` must be a readable PEM file.
 */
export function checkListenerTls(config: LoadedConfig, now = Date.now()): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const hosts = config.routesInOrder.map((route) => route.host);
  const everyHost = hosts.includes(undefined);
  for (const listener of config.listeners) {
    for (const files of listener.tls?.certificates ?? []) issues.push(...checkCertificate(config, files, hosts, everyHost, now));
    const acme = listener.tls?.acme;
    if (acme?.directoryCa !== undefined) {
      const read = readOrIssue(config, acme.directoryCa, [...acme.at, 'directory_ca']);
      if (typeof read !== 'string') issues.push(read);
      else if (!read.includes('-----BEGIN CERTIFICATE-----')) issues.push(config.issueAt([...acme.at, 'directory_ca'], `${acme.directoryCa} holds no PEM certificate`));
    }
  }
  return issues;
}

function checkCertificate(config: LoadedConfig, files: CertificateFiles, hosts: readonly (string | undefined)[], everyHost: boolean, now: number): ConfigIssue[] {
  const certAt = [...files.at, 'cert'];
  const keyAt = [...files.at, 'key'];
  const certText = readOrIssue(config, files.cert, certAt);
  const keyText = readOrIssue(config, files.key, keyAt);
  const issues = [certText, keyText].filter((read): read is ConfigIssue => typeof read !== 'string');
  if (issues.length > 0) return issues;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certText as string);
  } catch {
    return [config.issueAt(certAt, `${files.cert} is not a PEM certificate`)];
  }
  try {
    const key = createPrivateKey(keyText as string);
    if (!certificate.checkPrivateKey(key)) return [config.issueAt(keyAt, `${files.key} is not the key of the certificate in ${files.cert}`)];
  } catch {
    return [config.issueAt(keyAt, `${files.key} is not a PEM private key`)];
  }
  if (Date.parse(certificate.validTo) < now) return [config.issueAt(certAt, `the certificate in ${files.cert} expired on ${new Date(certificate.validTo).toISOString()}`)];
  if (Date.parse(certificate.validFrom) > now) return [config.issueAt(certAt, `the certificate in ${files.cert} is not valid before ${new Date(certificate.validFrom).toISOString()}`)];
  const names = namesOf(certificate);
  if (!everyHost && !names.some((name) => hosts.some((host) => host !== undefined && covers(name, normalizeHost(host))))) {
    return [config.issueAt(certAt, `no route serves any name of the certificate in ${files.cert} (${names.join(', ') || 'none'})`, 'warning')];
  }
  return [];
}

/** Whether a certificate name serves a route's host: the same name, or a wildcard one label up; a wildcard host needs the same wildcard. */
function covers(name: string, host: string): boolean {
  if (name === host) return true;
  if (!name.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && !host.startsWith('*.') && host.slice(dot + 1) === name.slice(2);
}

function readOrIssue(config: LoadedConfig, file: string, at: readonly (string | number)[]): string | ConfigIssue {
  try {
    return readFileSync(configRelative(config, file), 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String((error as Error).message);
    return config.issueAt(at, `cannot read ${configRelative(config, file)}: ${why}`);
  }
}

/** Whether a listener serves HTTPS. */
export const isTls = (listener: ListenerSettings): boolean => listener.tls !== undefined;
