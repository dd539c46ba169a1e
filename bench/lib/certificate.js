// A throw-away certificate for the TLS scenarios: ECDSA P-256, self-signed by Debian's `openssl`,
// for `bench.local` and 127.0.0.1, valid for two days. Every candidate is given the same files.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { which } from './tools.js';

export const CERTIFICATE_NAME = 'bench.local';

/** Writes `bench.crt` and `bench.key` into `dir`; returns their paths. Throws without openssl. */
export function makeCertificate(dir) {
  const openssl = which('openssl');
  if (!openssl) throw new Error('openssl is not installed (apt-get install openssl)');
  const cert = join(dir, 'bench.crt');
  const key = join(dir, 'bench.key');
  execFileSync(openssl, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${CERTIFICATE_NAME}`, '-addext', `subjectAltName=DNS:${CERTIFICATE_NAME},IP:127.0.0.1`,
    '-keyout', key, '-out', cert,
  ], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  return { cert, key };
}
