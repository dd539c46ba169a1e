import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from '../core/config/ConfigError.ts';
import { besideConfigFile } from '../core/config/besideConfigFile.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';
import type { UpstreamTls } from '../core/Upstream.ts';

/** The files of a backend's TLS settings, read: what a connection to it trusts and presents. */
export interface BackendTlsFiles {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * Reads the files a backend's TLS settings name, as its connections will use them.
 * @throws an Error naming the file that cannot be read
 */
export function readBackendTls(tls: UpstreamTls): BackendTlsFiles {
  const read = (name: string | undefined) => {
    if (name === undefined) return undefined;
    try {
      return readFileSync(name, 'utf8');
    } catch (error) {
      throw new Error(`tls: cannot read ${name}: ${readFailure(error)}`, { cause: error });
    }
  };
  return { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The files the `tls` keys name (`ca`, `cert`, `key`), at the top level and on each route, checked
 * as a connection would use them: each readable, the CA file and the certificate PEM certificates
 * that parse, the key an unencrypted PEM private key, and the key the certificate's. Names are
 * taken from the config file's directory, as the compiled backends take them. A `FileCheck`
 * (src/server/checkFiles.ts), written out so that upstream/ imports nothing from server/.
 */
export function checkBackendTls(loaded: LoadedConfig): ConfigIssue[] {
  const { config } = loaded;
  const places: [(string | number)[], typeof config.tls][] = [
    [[], config.tls],
    ...(config.hosts ?? []).map((entry, i): [(string | number)[], typeof config.tls] => [['hosts', i], entry.tls]),
    ...(config.paths ?? []).map((entry, i): [(string | number)[], typeof config.tls] => [['paths', i], entry.tls]),
  ];
  const issues: ConfigIssue[] = [];
  for (const [at, tls] of places) {
    if (!tls) continue;
    const problem = (field: 'ca' | 'cert' | 'key', message: string) => issues.push(loaded.issueAt([...at, 'tls', field], message));
    const file = (name: string) => besideConfigFile(loaded.file, name);
    if (tls.ca !== undefined) {
      const found = certificatesIn(file(tls.ca));
      if (typeof found === 'string') problem('ca', found);
    }
    if (tls.cert === undefined || tls.key === undefined) continue;
    const certificates = certificatesIn(file(tls.cert));
    if (typeof certificates === 'string') problem('cert', certificates);
    const key = privateKeyIn(file(tls.key));
    if (typeof key === 'string') problem('key', key);
    if (typeof certificates !== 'string' && typeof key !== 'string' && !certificates[0].checkPrivateKey(key)) {
      problem('key', `${file(tls.key)} is not the private key of the certificate in ${file(tls.cert)}`);
    }
  }
  return issues;
}

/** The PEM certificates in a file, or what is wrong with it. */
function certificatesIn(name: string): X509Certificate[] | string {
  let text: string;
  try {
    text = readFileSync(name, 'utf8');
  } catch (error) {
    return `cannot read ${name}: ${readFailure(error)}`;
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return `${name} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch (error) {
    return `${name} holds a certificate that cannot be parsed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The private key in a PEM file, or what is wrong with it. */
function privateKeyIn(name: string): KeyObject | string {
  let text: string;
  try {
    text = readFileSync(name, 'utf8');
  } catch (error) {
    return `cannot read ${name}: ${readFailure(error)}`;
  }
  try {
    return createPrivateKey(text);
  } catch {
    return `${name} is not an unencrypted PEM private key`;
  }
}

function readFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return error instanceof Error ? error.message : String(error);
}
