import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deadPort } from './deadPort.ts';
import { stopGroup } from './processGroup.ts';
import { waitFor } from './waitFor.ts';

/** Let's Encrypt's test CA (Debian's `pebble`) and its DNS (`pebble-challtestsrv`), on loopback, for one test file. */
export interface Pebble {
  /** The ACME directory URL (HTTPS, pebble's own certificate). */
  readonly directory: string;
  /** pebble's own HTTPS certificate, to trust for `directory` (`tls.acme.directory_ca`). */
  readonly directoryCa: string;
  /** Starts pebble (again, after `stopCa`); the DNS keeps running. */
  startCa(): Promise<void>;
  /** Stops pebble only: the CA is down, its DNS is not. */
  stopCa(): Promise<void>;
  /** The root that signs the certificates pebble issues (from its management API: it makes a new one at each start). */
  root(): Promise<string>;
  /** Answers A queries for `host` with `address` instead of 127.0.0.1. */
  mapHost(host: string, address: string): Promise<void>;
  /** What pebble printed since it was last started. */
  output(): string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** The ports pebble validates HTTP-01 and TLS-ALPN-01 on: the balancer's plain and TLS listeners. */
  readonly httpPort: number;
  readonly tlsPort: number;
  /** How long the certificates it issues are valid. @default 3600 */
  readonly validitySeconds?: number;
  /** Start pebble at once. @default true */
  readonly start?: boolean;
}

const run = promisify(execFile);

/**
 * Starts `pebble-challtestsrv` as the DNS (every name → 127.0.0.1, no IPv6) and `pebble` with a
 * config written here and an HTTPS certificate made with openssl, ports chosen now. Validations
 * are immediate and strict: no random sleeps (PEBBLE_VA_NOSLEEP), no rejected nonces, no reused
 * authorizations (every order is validated afresh).
 */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-pebble-'));
  const [acmePort, managementPort, dnsPort, dnsManagementPort] = [await deadPort(), await deadPort(), await deadPort(), await deadPort()];
  const directoryCa = join(dir, 'pebble.pem');
  const key = join(dir, 'pebble.key');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', directoryCa, '-days', '2', '-subj', '/CN=pebble', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const config = join(dir, 'pebble.json');
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: directoryCa,
        privateKey: key,
        httpPort: options.httpPort,
        tlsPort: options.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        certificateValidityPeriod: options.validitySeconds ?? 3600,
      },
    }),
  );
  const dns = spawnLogged('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${dnsManagementPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-http01', '', '-https01', '', '-tlsalpn01', '']);
  await waitFor(() => dns.output().includes('Starting management server') || dns.child.exitCode !== null, 10_000, 'pebble-challtestsrv to start');
  if (dns.child.exitCode !== null) throw new Error(`pebble-challtestsrv exited:\n${dns.output()}`);
  let ca: ReturnType<typeof spawnLogged> | undefined;
  const pem = await readFile(directoryCa);
  const pebble: Pebble = {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    directoryCa,
    async startCa() {
      ca = spawnLogged('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' });
      const started = ca;
      await waitFor(() => started.output().includes('ACME directory available') || started.child.exitCode !== null, 30_000, 'pebble to start');
      if (started.child.exitCode !== null) throw new Error(`pebble exited:\n${started.output()}`);
    },
    async stopCa() {
      await ca?.stop();
    },
    root: () =>
      new Promise((resolve, reject) => {
        get(`https://127.0.0.1:${managementPort}/roots/0`, { ca: pem }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve(body));
        }).on('error', reject);
      }),
    async mapHost(host, address) {
      const response = await fetch(`http://127.0.0.1:${dnsManagementPort}/add-a`, { method: 'POST', body: JSON.stringify({ host, addresses: [address] }) });
      if (!response.ok) throw new Error(`pebble-challtestsrv /add-a: ${response.status}`);
    },
    output: () => ca?.output() ?? '',
    async stop() {
      await ca?.stop();
      await dns.stop();
    },
  };
  if (options.start ?? true) await pebble.startCa();
  return pebble;
}

function spawnLogged(command: string, args: readonly string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, output: () => output, stop: () => stopGroup(child, exited) };
}
