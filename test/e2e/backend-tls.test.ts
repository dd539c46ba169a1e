import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENO_BINARY } from '../helpers/runtimes.ts';
import { CLI, PROJECT_ROOT, spawnUntilListening, type RunningBalancer } from '../helpers/startBalancer.ts';
import { waitFor } from '../helpers/waitFor.ts';

// TLS to https:// backends (issue 14, point 4) on Node (`switchyard serve` from the build: run
// `npm run build` first) and Deno (src/deno.ts), over loopback, against node:https backends with
// certificates made here by Debian's openssl: a private CA, a name to check, an expired
// certificate, client certificates, verify: false, health probes over TLS, and a CA file changed
// before a reload. One balancer per runtime serves a route per case.

let dir: string;

/** Makes the certificates: two CAs, leaves they sign, a self-signed one and a client certificate. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = (name: string) => openssl('req', '-x509', ...newKey, '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  // `-days -1` ends the certificate a day before it starts: expired now (OpenSSL 3.0's x509 has no -not_after).
  const leaf = (name: string, signer: string, subject: string, san: string | undefined, days = '2') => {
    openssl('req', '-new', ...newKey, '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    if (san) writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-days', days, '-out', `${name}.pem`, ...(san ? ['-extfile', `${name}.ext`] : []));
  };
  ca('ca');
  ca('ca2');
  leaf('localhost', 'ca', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
  leaf('other', 'ca', '/CN=other.test', 'DNS:other.test');
  leaf('expired', 'ca', '/CN=localhost', 'DNS:localhost', '-1');
  leaf('client', 'ca', '/CN=switchyard-client', undefined);
  leaf('localhost-ca2', 'ca2', '/CN=localhost', 'DNS:localhost');
  openssl('req', '-x509', ...newKey, '-days', '2', '-subj', '/CN=localhost', '-keyout', 'selfsigned.key', '-out', 'selfsigned.pem');
}

const pem = (name: string) => readFileSync(join(dir, name));

interface Backend {
  readonly port: number;
  /** Each request seen: path, the SNI name, and the client certificate's CN, if any. */
  readonly seen: { path: string; sni: string | false | null; client: string | undefined }[];
  readonly server: Server;
}

/** An HTTPS backend that answers every path 200 with what it saw of the TLS connection. */
async function httpsBackend(cert: string, options: { requireClientCert?: boolean } = {}): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const server = createServer(
    {
      cert: pem(`${cert}.pem`),
      key: pem(`${cert}.key`),
      ...(options.requireClientCert && { ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: true }),
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const client = socket.getPeerCertificate().subject?.CN;
      const saw = { path: req.url ?? '', sni: socket.servername, client: typeof client === 'string' ? client : undefined };
      seen.push(saw);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(saw));
    },
  );
  // A WebSocket handshake is answered 101 with what the TLS connection showed, then closed.
  server.on('upgrade', (req, socket) => {
    const tlsSocket = req.socket as TLSSocket;
    const client = tlsSocket.getPeerCertificate().subject?.CN;
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\nx-sni: ${tlsSocket.servername}\r\nx-client: ${client ?? '-'}\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

/** A WebSocket handshake through the balancer: the status and fields of its answer. */
function upgrade(balancer: RunningBalancer, host: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    request(`${balancer.url}/ws`, { headers: { host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }, agent: false })
      .on('upgrade', (response, socket) => {
        socket.destroy();
        resolve({ status: response.statusCode!, headers: response.headers });
      })
      .on('response', (response) => {
        response.resume();
        resolve({ status: response.statusCode!, headers: response.headers });
      })
      .on('error', reject)
      .end();
  });
}

let backends: Record<'plain' | 'other' | 'expired' | 'selfSigned' | 'mtls' | 'ca2', Backend>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-backend-tls-'));
  makeCertificates();
  backends = {
    plain: await httpsBackend('localhost'),
    other: await httpsBackend('other'),
    expired: await httpsBackend('expired'),
    selfSigned: await httpsBackend('selfsigned'),
    mtls: await httpsBackend('localhost', { requireClientCert: true }),
    ca2: await httpsBackend('localhost-ca2'),
  };
});

afterAll(async () => {
  await Promise.all(Object.values(backends ?? {}).map(({ server }) => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)))));
  rmSync(dir, { recursive: true, force: true });
});

/** The config, written beside the certificates so that its relative file names find them. */
function writeConfigFor(runtime: string): string {
  const { plain, other, expired, selfSigned, mtls, ca2 } = backends;
  writeFileSync(join(dir, `reload-ca-${runtime}.pem`), pem('ca.pem'));
  const file = join(dir, `lb-${runtime}.yaml`);
  writeFileSync(
    file,
    `health_check: false
hosts:
  - host: untrusted.test
    servers: [https://localhost:${plain.port}/untrusted]
  - host: trusted.test
    servers: [https://localhost:${plain.port}/trusted]
    tls: { ca: ca.pem }
  - host: named.test
    servers: [https://localhost:${other.port}/named]
    tls: { ca: ca.pem, servername: other.test }
  - host: misnamed.test
    servers: [https://localhost:${other.port}/misnamed]
    tls: { ca: ca.pem }
  - host: expired.test
    servers: [https://localhost:${expired.port}/expired]
    tls: { ca: ca.pem }
  - host: no-client-cert.test
    servers: [https://localhost:${mtls.port}/no-client-cert]
    tls: { ca: ca.pem }
  - host: client-cert.test
    servers: [https://localhost:${mtls.port}/client-cert]
    tls: { ca: ca.pem, cert: client.pem, key: client.key }
  - host: unverified.test
    servers: [https://localhost:${selfSigned.port}/unverified]
    tls: { verify: false }
  - host: probed-untrusted.test
    health_check: { interval: 200ms }
    servers: [https://localhost:${plain.port}/probed-untrusted]
  - host: probed-mtls.test
    health_check: { interval: 200ms }
    servers: [https://localhost:${mtls.port}/probed-mtls]
    tls: { ca: ca.pem, cert: client.pem, key: client.key }
  - host: reload.test
    servers: [https://localhost:${ca2.port}/reload]
    tls: { ca: reload-ca-${runtime}.pem }
`,
  );
  return file;
}

const RUNTIMES = {
  node: (file: string) => spawnUntilListening(process.execPath, [CLI, 'serve', '--config', file, '--port', '0', '--hostname', '127.0.0.1']),
  deno: (file: string) =>
    spawnUntilListening(DENO_BINARY, ['run', '--allow-net', '--allow-read', '--allow-env', 'src/deno.ts', '--config', file, '--port', '0', '--hostname', '127.0.0.1'], {
      cwd: PROJECT_ROOT,
      timeoutMs: 30_000,
    }),
};

/** A GET for `host` through the balancer (node:http: fetch will not send a Host of its own). */
function get(balancer: RunningBalancer, host: string, path = '/x'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(`${balancer.url}${path}`, { headers: { host }, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe.each(Object.keys(RUNTIMES) as (keyof typeof RUNTIMES)[])('TLS to backends on %s', (runtime) => {
  let balancer: RunningBalancer;
  let file: string;

  beforeAll(async () => {
    file = writeConfigFor(runtime);
    balancer = await RUNTIMES[runtime](file);
  }, 40_000);

  afterAll(async () => {
    await balancer?.stop();
  });

  /** Waits for the 502 line of a route in the error log and returns it. */
  const errorLine = async (host: string) => {
    const line = () => balancer.output().split('\n').find((text) => text.startsWith(`switchyard: 502 GET /x on route ${host}: `));
    await waitFor(() => line() !== undefined, 5_000, `the 502 line of ${host}`);
    return line()!;
  };

  it('refuses a backend signed by a private CA by default: 502, and the log says the certificate is not trusted', async () => {
    expect(await get(balancer, 'untrusted.test')).toEqual({ status: 502, body: 'Bad Gateway\n' });
    expect(await errorLine('untrusted.test')).toBe(
      `switchyard: 502 GET /x on route untrusted.test: backend https://localhost:${backends.plain.port}/untrusted: tls: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
    );
  });

  it("trusts the CA tls.ca names, and checks the server's own host, not the client's", async () => {
    const answer = await get(balancer, 'trusted.test');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ path: '/trusted/x', sni: 'localhost' });
  });

  it('takes a WebSocket upgrade to an https backend through the same tls: private CA, servername, client certificate', async () => {
    const trusted = await upgrade(balancer, 'trusted.test');
    expect(trusted.status).toBe(101);
    expect(trusted.headers['x-sni']).toBe('localhost');
    const named = await upgrade(balancer, 'named.test');
    expect(named.status).toBe(101);
    expect(named.headers['x-sni']).toBe('other.test');
    const mtls = await upgrade(balancer, 'client-cert.test');
    expect(mtls.status).toBe(101);
    expect(mtls.headers['x-client']).toBe('switchyard-client');
    expect((await upgrade(balancer, 'untrusted.test')).status).toBe(502);
  });

  it('sends tls.servername as SNI and checks the certificate against it; another name is a 502 that says the name does not match', async () => {
    const named = await get(balancer, 'named.test');
    expect(named.status).toBe(200);
    expect(JSON.parse(named.body)).toEqual({ path: '/named/x', sni: 'other.test' });
    expect((await get(balancer, 'misnamed.test')).status).toBe(502);
    expect(await errorLine('misnamed.test')).toBe(
      `switchyard: 502 GET /x on route misnamed.test: backend https://localhost:${backends.other.port}/misnamed: tls: Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:other.test (ERR_TLS_CERT_ALTNAME_INVALID)`,
    );
  });

  it('refuses an expired certificate: 502, and the log says it has expired', async () => {
    expect((await get(balancer, 'expired.test')).status).toBe(502);
    expect(await errorLine('expired.test')).toMatch(/: tls: certificate has expired \(CERT_HAS_EXPIRED\)$/);
  });

  it('presents the client certificate to a backend that requires one; without it, a 502 that says one was required', async () => {
    const answer = await get(balancer, 'client-cert.test');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ path: '/client-cert/x', sni: 'localhost', client: 'switchyard-client' });
    expect((await get(balancer, 'no-client-cert.test')).status).toBe(502);
    // OpenSSL's words on Node (tlsv13 alert certificate required), rustls's on Deno (CertificateRequired).
    expect(await errorLine('no-client-cert.test')).toMatch(/: tls: .*certificate ?required \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\)$/i);
  });

  it('accepts a self-signed certificate with verify: false, and warns of it at start-up', async () => {
    expect((await get(balancer, 'unverified.test')).status).toBe(200);
    const warning = `${file}:25:20: hosts[7].tls.verify: warning: certificates of https://localhost:${backends.selfSigned.port}/unverified are not verified: anyone on the path to it can pose as it`;
    expect(balancer.output().split('\n')).toContain(warning);
    if (runtime === 'node') {
      // `check` prints the same warning, and passes.
      const checked = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8' });
      expect(checked.status).toBe(0);
      expect(checked.stderr.split('\n')).toContain(warning);
    }
  });

  it('probes over TLS with the same settings: a backend of an untrusted CA is down, a backend that wants a client certificate is up', async () => {
    expect(await get(balancer, 'probed-untrusted.test')).toEqual({ status: 503, body: 'Service Unavailable: no healthy backend for probed-untrusted.test\n' });
    expect(balancer.output()).toContain(
      `health: https://localhost:${backends.plain.port}/probed-untrusted is DOWN: GET /healthcheck -> failed (tls: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)) (first check)`,
    );
    expect((await get(balancer, 'probed-mtls.test')).status).toBe(200);
    expect(backends.mtls.seen).toContainEqual({ path: '/probed-mtls/healthcheck', sni: 'localhost', client: 'switchyard-client' });
  });

  it('reads a CA file again on reload (SIGHUP): the new CA is trusted', async () => {
    expect((await get(balancer, 'reload.test')).status).toBe(502);
    writeFileSync(join(dir, `reload-ca-${runtime}.pem`), pem('ca2.pem'));
    balancer.process.kill('SIGHUP');
    await waitFor(() => balancer.output().includes('config reloaded (SIGHUP)'), 10_000, 'the reload');
    expect((await get(balancer, 'reload.test')).status).toBe(200);
  });
});
