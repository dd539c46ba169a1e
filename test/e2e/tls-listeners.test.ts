import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestAuthority, type TestAuthority, type TestCertificate } from '../helpers/certificates.ts';
import { deadPort } from '../helpers/deadPort.ts';
import { serveProcess, serveUntilExit, type ServeProcess, type ServeRuntime } from '../helpers/serveProcess.ts';
import { CLI, PROJECT_ROOT } from '../helpers/startBalancer.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';

// Issue 14, points 1 and 2 on Node (`switchyard serve` from the build: run `npm run build` first)
// and Deno (`deno task serve`): `listen` with TLS and plain listeners, certificates chosen by SNI,
// TLS 1.2+ only, session resumption, redirect_https, hsts, certificate renewal on SIGHUP, and what
// `check` says about bad certificates. The clients are real ones: `curl --http1.1` and
// `openssl s_client`; the certificates come from a throw-away CA made with `openssl`.

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (10 s at most), `input` on its stdin; never rejects on a non-zero exit. */
function runCommand(command: string, args: readonly string[], input = '', timeoutMs = 10_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: PROJECT_ROOT, timeout: timeoutMs, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number' && !error.killed) return reject(error);
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/**
 * `serve` from the config's own `listen` (no --port unless given), ready once stdout starts with
 * `listeners` lines `listening on http(s)://...`.
 */
const serve = (runtime: ServeRuntime, file: string, listeners: number, args: readonly string[] = []) => serveProcess(runtime, { file }, { loopback: false, listeners, args });

const portOf = (served: ServeProcess, index: number) => Number(new URL(served.urls[index]).port);

/** What `curl --http1.1` got: status, head fields (lower-case names), body, and the server certificate's subject from `-v`. */
interface CurlReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly subject: string | undefined;
  readonly exitCode: number | null;
  readonly stderr: string;
}

async function curl(args: readonly string[]): Promise<CurlReply> {
  const { code, stdout, stderr } = await runCommand('curl', ['--http1.1', '-sS', '-v', '-i', '--max-time', '10', ...args]);
  const split = stdout.indexOf('\r\n\r\n');
  const head = split < 0 ? stdout : stdout.slice(0, split);
  const [statusLine = '', ...fields] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon > 0) headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
  }
  return {
    status: Number(/^HTTP\/\S+ (\d{3})/.exec(statusLine)?.[1] ?? 0),
    headers,
    body: split < 0 ? '' : stdout.slice(split + 4),
    subject: /^\*\s+subject: (.*)$/m.exec(stderr)?.[1],
    exitCode: code,
    stderr,
  };
}

/** What an `openssl s_client` handshake showed. */
interface Handshake {
  /** The protocol of the session made (`TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3`), undefined when none was. */
  readonly protocol: string | undefined;
  readonly reused: boolean;
  /** The server certificate, PEM, as s_client printed it. */
  readonly certificate: string | undefined;
  readonly subject: string | undefined;
  readonly output: string;
}

function handshakeOf({ stdout, stderr }: Result): Handshake {
  // "New, TLSv1.0, Cipher is X" names the version that introduced the cipher (only TLS 1.3's
  // suites say TLSv1.3); below 1.3 the session's "Protocol :" line names the one spoken.
  const session = /^(New|Reused), (\S+), Cipher is (\S+)/m.exec(stdout);
  const established = session !== null && session[3] !== '(NONE)';
  return {
    protocol: established ? (session[2] === 'TLSv1.3' ? 'TLSv1.3' : /^\s+Protocol\s*: (\S+)$/m.exec(stdout)?.[1]) : undefined,
    reused: established && session[1] === 'Reused',
    certificate: /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(stdout)?.[0],
    subject: /^subject=(.*)$/m.exec(stdout)?.[1],
    output: `${stdout}\n${stderr}`,
  };
}

/** `openssl s_client` to a loopback port: `-servername NAME`, or none at all when `servername` is undefined. */
async function sClient(port: number, servername: string | undefined, args: readonly string[] = []): Promise<Handshake> {
  const name = servername === undefined ? ['-noservername'] : ['-servername', servername];
  return handshakeOf(await runCommand('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...name, '-nocommands', ...args]));
}

/** Old protocol versions need security level 0 on Debian's OpenSSL client side, so that only the server can refuse. */
const OLD_PROTOCOL_CLIENT = ['-cipher', 'DEFAULT@SECLEVEL=0'];

const pemOf = async (path: string) => (await readFile(path, 'utf8')).trim();

/** `FILE:LINE:COL` of the first occurrence of `needle` in `text` (1-based, as `check` prints). */
function locate(file: string, text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`${needle} is not in the config`);
  const before = text.slice(0, index).split('\n');
  return `${file}:${before.length}:${before.at(-1)!.length + 1}`;
}

/** `text` matched literally in a RegExp. */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const echoed = (reply: CurlReply) => JSON.parse(reply.body) as EchoedRequest;

let ca: TestAuthority;
let a: TestCertificate;
let wildcard: TestCertificate;
let fallback: TestCertificate;
let renewed: TestCertificate;
let renewedFallback: TestCertificate;
let backendA: TestBackend;
let backendW: TestBackend;
/** A server that allows TLS 1.0 and 1.1: proof that the openssl client here can still speak them. */
let permissive: TlsServer;

beforeAll(async () => {
  ca = await createTestAuthority();
  [a, wildcard, fallback, renewed, renewedFallback] = await Promise.all([
    ca.issue('a.test'),
    ca.issue('*.w.test'),
    ca.issue('first.test'),
    ca.issue('a.test', { organization: 'Renewed', stem: 'a.test-renewed' }),
    ca.issue('first.test', { organization: 'Renewed', stem: 'first.test-renewed' }),
  ]);
  [backendA, backendW] = await Promise.all([startTestBackend('a'), startTestBackend('w')]);
  await prepareCheckFolder();
  permissive = createTlsServer({ cert: await readFile(a.cert), key: await readFile(a.key), minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (socket) => socket.end());
  await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve));
}, 30_000);

afterAll(async () => {
  await Promise.all([backendA?.close(), backendW?.close(), new Promise((resolve) => (permissive ? permissive.close(resolve) : resolve(undefined)))]);
  if (ca) await rm(ca.dir, { recursive: true, force: true });
});

/** The folder of the `check` and refused `serve` configs: good, mismatched, expired, unused and non-PEM files. */
const checkDir = () => join(ca.dir, 'check');

async function prepareCheckFolder(): Promise<void> {
  const dir = checkDir();
  await mkdir(dir, { recursive: true });
  const expired = await ca.issue('old.test', { notBefore: '20200101000000Z', notAfter: '20200201000000Z' });
  const unused = await ca.issue('unused.test');
  const copies: [string, string][] = [
    ['a.crt', a.cert], ['a.key', a.key], ['w.crt', wildcard.cert], ['other.key', wildcard.key],
    ['expired.crt', expired.cert], ['expired.key', expired.key], ['unused.crt', unused.cert], ['unused.key', unused.key],
  ];
  for (const [name, path] of copies) await copyFile(path, join(dir, name));
  await writeFile(join(dir, 'notes.txt'), 'this is not a certificate\n');
}

/** A folder of its own per runtime with copies of the certificates (the reload test overwrites them), and a config in it. */
async function configFolder(name: string, files: Record<string, TestCertificate>, config: string): Promise<string> {
  const dir = join(ca.dir, name);
  await mkdir(dir, { recursive: true });
  for (const [stem, certificate] of Object.entries(files)) {
    await copyFile(certificate.cert, join(dir, `${stem}.crt`));
    await copyFile(certificate.key, join(dir, `${stem}.key`));
  }
  const file = join(dir, 'lb.yaml');
  await writeFile(file, config);
  return file;
}

/**
 * A TLS listener with three certificates, then a plain listener. The first (first.test) is not
 * a.test's, so that an exact match shows apart from the fallback to the first.
 */
const mainConfig = (first: string, second: string) => `listen:
  - address: ${first}
    tls:
      certificates:
        - { cert: first.crt, key: first.key }
        - { cert: a.crt, key: a.key }
        - { cert: w.crt, key: w.key }
  - address: ${second}
hosts:
  - host: first.test
    servers: [${backendA.address}]
  - host: a.test
    hsts: max-age=600; includeSubDomains
    header_rules: { set: { X-Scheme: "\${scheme}" } }
    response_header_rules: { set: { X-Client-Scheme: "\${scheme}" } }
    servers: [${backendA.address}]
  - host: "*.w.test"
    servers: [${backendW.address}]
`;

describe.each(['node', 'deno'] as const)('a TLS listener and a plain one (%s)', (runtime) => {
  let served: ServeProcess;
  let file: string;
  let addresses: [string, string];
  const tlsPort = () => portOf(served, 0);
  const plainPort = () => portOf(served, 1);
  const https = (host: string, path = '/') => curl(['--cacert', ca.caCert, '--resolve', `${host}:${tlsPort()}:127.0.0.1`, `https://${host}:${tlsPort()}${path}`]);

  beforeAll(async () => {
    addresses = [`127.0.0.1:${await deadPort()}`, `127.0.0.1:${await deadPort()}`];
    file = await configFolder(`main-${runtime}`, { first: fallback, a, w: wildcard }, mainConfig(addresses[0], addresses[1]));
    served = await serve(runtime, file, 2);
  }, 40_000);
  afterAll(async () => void (await served?.stop()));

  it('prints "listening on https://..." then "listening on http://..." in the order written, before anything else on stdout', () => {
    expect(served.stdout()).toMatch(new RegExp(`^listening on https://${escape(addresses[0])}\\nlistening on http://${escape(addresses[1])}\\n`));
  });

  it('gives a.test its own certificate (curl verifies it against the test CA) and serves the request from the backend over HTTPS', async () => {
    const reply = await https('a.test', '/hello?x=1');
    expect(reply.exitCode, reply.stderr).toBe(0);
    expect(reply.subject).toBe('CN=a.test');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-served-by']).toBe('a');
    expect(echoed(reply).url).toBe('/hello?x=1');
    const handshake = await sClient(tlsPort(), 'a.test', ['-CAfile', ca.caCert, '-verify_return_error', '-verify_hostname', 'a.test']);
    expect(handshake.certificate).toBe(await pemOf(a.cert));
  });

  it('gives a name under *.w.test the wildcard certificate', async () => {
    const reply = await https('x.w.test');
    expect(reply.exitCode, reply.stderr).toBe(0);
    expect(reply.subject).toBe('CN=*.w.test');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-served-by']).toBe('w');
    expect((await sClient(tlsPort(), 'x.w.test')).certificate).toBe(await pemOf(wildcard.cert));
  });

  it('gives the first certificate to a client that sends no SNI, and to a name no certificate holds (a wildcard covers one label only)', async () => {
    const noName = await sClient(tlsPort(), undefined);
    expect(noName.protocol, noName.output).toBeDefined();
    expect(noName.certificate).toBe(await pemOf(fallback.cert));
    expect((await sClient(tlsPort(), 'deep.x.w.test')).certificate).toBe(await pemOf(fallback.cert));
    // curl sends no SNI to an IP address.
    const byAddress = await curl(['--cacert', ca.caCert, '-H', 'Host: a.test', `https://127.0.0.1:${tlsPort()}/`, '-k']);
    expect(byAddress.subject).toBe('CN=first.test');
    expect(byAddress.status).toBe(200);
  });

  it('tells the backend X-Forwarded-Proto: https and fills ${scheme} with https, both ways', async () => {
    const reply = await https('a.test', '/scheme');
    expect(reply.status).toBe(200);
    const seen = echoed(reply);
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-scheme']).toBe('https');
    expect(reply.headers['x-client-scheme']).toBe('https');
  });

  it('sends the route\'s hsts on HTTPS answers and not over plain HTTP, where the same route says http', async () => {
    const secure = await https('a.test', '/hsts');
    expect(secure.status).toBe(200);
    expect(secure.headers['strict-transport-security']).toBe('max-age=600; includeSubDomains');
    const plain = await curl(['-H', 'Host: a.test', `http://127.0.0.1:${plainPort()}/hsts`]);
    expect(plain.status).toBe(200);
    expect(plain.headers['x-served-by']).toBe('a');
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    expect(plain.headers['x-client-scheme']).toBe('http');
    expect(echoed(plain).headers['x-forwarded-proto']).toBe('http');
    expect(echoed(plain).headers['x-scheme']).toBe('http');
  });

  it('refuses TLS 1.0 and 1.1 at the handshake (the same openssl speaks them to a server that allows them)', async () => {
    const { port } = permissive.address() as AddressInfo;
    for (const version of ['-tls1', '-tls1_1']) {
      const control = await sClient(port, 'a.test', [version, ...OLD_PROTOCOL_CLIENT]);
      expect(control.protocol, `control ${version}:\n${control.output}`).toBe(version === '-tls1' ? 'TLSv1' : 'TLSv1.1');
      const refused = await sClient(tlsPort(), 'a.test', [version, ...OLD_PROTOCOL_CLIENT]);
      expect(refused.protocol, `${version} was accepted:\n${refused.output}`).toBeUndefined();
    }
  });

  it('accepts TLS 1.2 and TLS 1.3', async () => {
    expect((await sClient(tlsPort(), 'a.test', ['-tls1_2'])).protocol).toBe('TLSv1.2');
    expect((await sClient(tlsPort(), 'a.test', ['-tls1_3'])).protocol).toBe('TLSv1.3');
  });

  it('accepts no CBC suite over TLS 1.2, only forward-secret AEAD ones as docs/https.md says (the same openssl gets them from a server that allows them)', async () => {
    const { port } = permissive.address() as AddressInfo;
    const accepted: string[] = [];
    for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384']) {
      const control = await sClient(port, 'a.test', ['-tls1_2', '-cipher', cipher]);
      expect(control.protocol, `control ${cipher}:\n${control.output}`).toBe('TLSv1.2');
      if ((await sClient(tlsPort(), 'a.test', ['-tls1_2', '-cipher', cipher])).protocol) accepted.push(cipher);
    }
    expect(accepted).toEqual([]);
    expect((await sClient(tlsPort(), 'a.test', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'])).protocol).toBe('TLSv1.2');
  });

  /** Two s_client runs, the second offering the session the first saved: whether the server resumed it. */
  async function resumes(label: string, options: string[]): Promise<Handshake> {
    const session = join(ca.dir, `session-${runtime}-${label}`);
    // A request, so that the TLS 1.3 ticket (sent after the handshake) arrives before s_client ends.
    const request = 'GET /resume HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n';
    const args = (more: string[]) => ['s_client', '-connect', `127.0.0.1:${tlsPort()}`, '-servername', 'a.test', '-nocommands', '-ign_eof', ...options, ...more];
    const first = handshakeOf(await runCommand('openssl', args(['-sess_out', session]), request));
    expect(first.protocol, first.output).toBeDefined();
    expect(first.reused).toBe(false);
    return handshakeOf(await runCommand('openssl', args(['-sess_in', session]), request));
  }

  it.each(['-tls1_2', '-tls1_3'])('resumes a session by ticket (%s): -sess_out, then -sess_in says "Reused"', async (version) => {
    const second = await resumes(version, [version]);
    expect(second.reused, second.output).toBe(true);
  });

  it('keeps no session cache: a TLS 1.2 client that takes no tickets (-no_ticket) is not resumed by id, as docs/https.md says', async () => {
    const second = await resumes('by-id', ['-tls1_2', '-no_ticket']);
    expect(second.reused, second.output).toBe(false);
  });

  it('renews the certificate on SIGHUP: a new connection gets the new one, a keep-alive connection opened before keeps working', async () => {
    // One connection, kept open across the reload: s_client reads requests from its stdin.
    const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort()}`, '-servername', 'a.test', '-nocommands', '-ign_eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    client.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
    const closed = new Promise<void>((resolve) => client.once('exit', () => resolve()));
    const answers = () => out.split('HTTP/1.1 200 OK').length - 1;
    try {
      client.stdin.write('GET /before HTTP/1.1\r\nHost: a.test\r\n\r\n');
      await waitFor(() => answers() === 1 && out.includes('"/before"'), 5000, `the first answer on the kept connection:\n${out}`);
      expect(handshakeOf({ code: 0, stdout: out, stderr: '' }).certificate).toBe(await pemOf(a.cert));

      const reloads = () => served.stderr().split('config reloaded').length - 1;
      const before = reloads();
      await copyFile(renewed.cert, join(file, '..', 'a.crt'));
      await copyFile(renewed.key, join(file, '..', 'a.key'));
      await copyFile(renewedFallback.cert, join(file, '..', 'first.crt'));
      await copyFile(renewedFallback.key, join(file, '..', 'first.key'));
      served.hangUp();
      await waitFor(() => reloads() > before, 5000, `"config reloaded" after SIGHUP:\n${served.stderr()}`);

      const named = await curl(['--cacert', ca.caCert, '--resolve', `a.test:${tlsPort()}:127.0.0.1`, `https://a.test:${tlsPort()}/after`]);
      expect(named.subject).toBe('O=Renewed; CN=a.test');
      expect(named.status).toBe(200);
      expect((await sClient(tlsPort(), 'a.test')).certificate).toBe(await pemOf(renewed.cert));
      // The certificate for clients that send no name is renewed too.
      expect((await sClient(tlsPort(), undefined)).certificate).toBe(await pemOf(renewedFallback.cert));

      client.stdin.write('GET /after-reload HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
      await waitFor(() => answers() === 2 && out.includes('"/after-reload"'), 5000, `a second answer on the connection opened before the reload:\n${out}`);
    } finally {
      client.kill();
      await closed;
    }
  });

  it('refuses a reload that changes the listeners, says so naming listen, and keeps serving on the old ones', async () => {
    const failures = () => served.stderr().split('failed: the config in use is kept').length - 1;
    const before = failures();
    const elsewhere = await deadPort();
    await writeFile(file, mainConfig(addresses[0], `127.0.0.1:${elsewhere}`));
    served.hangUp();
    await waitFor(() => failures() > before, 5000, `a refused reload:\n${served.stderr()}`);
    expect(served.stderr()).toContain(`${file}: listen: the listeners (addresses, tls, tls.acme, redirect_https, http2) change only with a restart`);
    expect((await https('a.test', '/still')).status).toBe(200);
    expect((await curl(['-H', 'Host: a.test', `http://127.0.0.1:${plainPort()}/still`])).status).toBe(200);
    const nobody = await curl([`http://127.0.0.1:${elsewhere}/`]);
    expect(nobody.status).toBe(0);
  });

  it('refuses a reload whose certificate does not match its key, naming the key field, and keeps the certificate in use', async () => {
    await writeFile(file, mainConfig(addresses[0], addresses[1]));
    const inUse = (await sClient(tlsPort(), 'a.test')).certificate;
    const failures = () => served.stderr().split('failed: the config in use is kept').length - 1;
    const before = failures();
    await copyFile(wildcard.key, join(file, '..', 'a.key'));
    served.hangUp();
    await waitFor(() => failures() > before, 5000, `a refused reload:\n${served.stderr()}`);
    expect(served.stderr()).toContain(`${locate(file, mainConfig(addresses[0], addresses[1]), 'a.key')}: listen[0].tls.certificates[1].key: a.key is not the key of the certificate in a.crt`);
    expect((await sClient(tlsPort(), 'a.test')).certificate).toBe(inUse);
    expect((await https('a.test', '/kept')).status).toBe(200);
  });
});

describe.each(['node', 'deno'] as const)('redirect_https and min_version: TLSv1.3 (%s)', (runtime) => {
  let served: ServeProcess;
  let plain: number;
  let secure: number;
  let untouched: TestBackend;

  beforeAll(async () => {
    untouched = await startTestBackend('untouched');
    [plain, secure] = [await deadPort(), await deadPort()];
    const config = `listen:
  - address: 127.0.0.1:${plain}
    redirect_https: true
  - address: 127.0.0.1:${secure}
    tls:
      min_version: TLSv1.3
      certificates:
        - { cert: a.crt, key: a.key }
hosts:
  - host: a.test
    servers: [${untouched.address}]
`;
    served = await serve(runtime, await configFolder(`redirect-${runtime}`, { a }, config), 2);
  }, 40_000);
  afterAll(async () => {
    await served?.stop();
    await untouched?.close();
  });

  const requests = () => untouched.seen.filter((seen) => seen.url !== '/healthcheck').length;

  it('prints the plain listener first and the TLS one second, as written', () => {
    expect(served.stdout()).toMatch(new RegExp(`^listening on http://127\\.0\\.0\\.1:${plain}\\nlistening on https://127\\.0\\.0\\.1:${secure}\\n`));
  });

  it('answers GET and POST on the plain listener with 308 to the same host, path and query on the HTTPS port, without asking a backend', async () => {
    const get = await curl(['-H', `Host: a.test:${plain}`, `http://127.0.0.1:${plain}/some/path?x=1&y=%20z`]);
    expect(get.status).toBe(308);
    expect(get.headers.location).toBe(`https://a.test:${secure}/some/path?x=1&y=%20z`);
    const post = await curl(['-X', 'POST', '--data-binary', 'payload', '-H', 'Host: a.test', `http://127.0.0.1:${plain}/form?id=7`]);
    expect(post.status).toBe(308);
    expect(post.headers.location).toBe(`https://a.test:${secure}/form?id=7`);
    expect(requests()).toBe(0);
  });

  it('refuses TLS 1.2 and accepts TLS 1.3', async () => {
    const old = await sClient(secure, 'a.test', ['-tls1_2']);
    expect(old.protocol, `TLS 1.2 was accepted:\n${old.output}`).toBeUndefined();
    expect((await sClient(secure, 'a.test', ['-tls1_3'])).protocol).toBe('TLSv1.3');
  });

  it('lets curl -L follow the redirect to the backend over HTTPS, keeping the POST', async () => {
    const resolve = ['--resolve', `a.test:${plain}:127.0.0.1`, '--resolve', `a.test:${secure}:127.0.0.1`];
    const reply = await curl(['-L', '--cacert', ca.caCert, ...resolve, '--data-binary', 'payload', `http://a.test:${plain}/form?id=7`]);
    // With -i, curl prints every head it got: the last one is the backend's.
    const last = reply.body.slice(reply.body.lastIndexOf('HTTP/1.1 '));
    expect(last).toMatch(/^HTTP\/1\.1 200/);
    const seen = JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4)) as EchoedRequest;
    expect([seen.method, seen.url, seen.bodyBytes, seen.headers['x-forwarded-proto']]).toEqual(['POST', '/form?id=7', 7, 'https']);
  });
});

describe.each(['node', 'deno'] as const)('--port and --hostname (%s)', (runtime) => {
  it("make one plain listener and replace the config's listen", async () => {
    const file = await configFolder(`command-line-${runtime}`, { first: fallback, a, w: wildcard }, mainConfig(`127.0.0.1:${await deadPort()}`, `127.0.0.1:${await deadPort()}`));
    const served = await serve(runtime, file, 1, ['--port', '0', '--hostname', '127.0.0.1']);
    try {
      expect(served.urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // Every listening line is printed at once, when all listeners are ready.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(served.stdout().match(/listening on/g)).toHaveLength(1);
      const reply = await curl(['-H', 'Host: a.test', `${served.urls[0]}/`]);
      expect(reply.status).toBe(200);
      expect(echoed(reply).headers['x-forwarded-proto']).toBe('http');
    } finally {
      await served.stop();
    }
  }, 40_000);
});

describe.each(['node', 'deno'] as const)('a listener that cannot bind (%s)', (runtime) => {
  it('stops serve with "cannot listen on HOST:PORT" and no listening line, not even for the listener that could bind', async () => {
    const taken = createTlsServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const busy = (taken.address() as AddressInfo).port;
      const file = await configFolder(`busy-${runtime}`, { first: fallback, a, w: wildcard }, mainConfig(`127.0.0.1:${await deadPort()}`, `127.0.0.1:${busy}`));
      const { code, stdout, stderr } = await serveUntilExit(runtime, { file }, { loopback: false });
      expect(code, stderr).toBe(1);
      expect(stdout).not.toContain('listening on');
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${busy}: address already in use`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 40_000);
});

/** A config with one TLS listener whose certificate entry is written in block style, so its cert and key have lines of their own. */
const oneCertificate = (cert: string, key: string, routes = 'hosts:\n  - host: a.test\n    servers: [127.0.0.1:9]\n') => `listen:
  - address: 127.0.0.1:8443
    tls:
      certificates:
        - cert: ${cert}
          key: ${key}
${routes}`;

describe('switchyard check on certificates (node)', () => {
  async function check(name: string, config: string): Promise<Result & { file: string }> {
    const file = join(checkDir(), `${name}.yaml`);
    await writeFile(file, config);
    return { file, ...(await runCommand(process.execPath, [CLI, 'check', '--config', file])) };
  }
  const CERT = 'listen[0].tls.certificates[0].cert';
  const KEY = 'listen[0].tls.certificates[0].key';

  it('exits 1 naming the cert field when the certificate file is missing', async () => {
    const config = oneCertificate('missing.crt', 'a.key');
    const { file, code, stderr } = await check('missing', config);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([`${locate(file, config, 'missing.crt')}: ${CERT}: cannot read ${join(checkDir(), 'missing.crt')}: no such file`]);
  });

  it('exits 1 naming the key field when the key is not the certificate\'s', async () => {
    const config = oneCertificate('a.crt', 'other.key');
    const { file, code, stderr } = await check('mismatch', config);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([`${locate(file, config, 'other.key')}: ${KEY}: other.key is not the key of the certificate in a.crt`]);
  });

  it('exits 1 naming the cert field when the certificate has expired', async () => {
    const config = oneCertificate('expired.crt', 'expired.key', 'hosts:\n  - host: old.test\n    servers: [127.0.0.1:9]\n');
    const { file, code, stderr } = await check('expired', config);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([`${locate(file, config, 'expired.crt')}: ${CERT}: the certificate in expired.crt expired on 2020-02-01T00:00:00.000Z`]);
  });

  it('exits 1 naming the field whose file is not PEM', async () => {
    const certConfig = oneCertificate('notes.txt', 'a.key');
    const notCert = await check('not-pem-cert', certConfig);
    expect(notCert.code).toBe(1);
    expect(notCert.stderr.trim().split('\n')).toEqual([`${locate(notCert.file, certConfig, 'notes.txt')}: ${CERT}: notes.txt is not a PEM certificate`]);
    const keyConfig = oneCertificate('a.crt', 'notes.txt');
    const notKey = await check('not-pem-key', keyConfig);
    expect(notKey.code).toBe(1);
    expect(notKey.stderr.trim().split('\n')).toEqual([`${locate(notKey.file, keyConfig, 'notes.txt')}: ${KEY}: notes.txt is not a PEM private key`]);
  });

  it('exits 0 with a warning at the cert field when no host route uses any name of the certificate', async () => {
    const config = oneCertificate('unused.crt', 'unused.key');
    const { file, code, stdout, stderr } = await check('unused', config);
    expect(code).toBe(0);
    expect(stdout).toContain(`${file}: ok`);
    expect(stderr.trim().split('\n')).toEqual([`${locate(file, config, 'unused.crt')}: ${CERT}: warning: no route serves any name of the certificate in unused.crt (unused.test)`]);
  });

  it('does not warn about unused names when a path-only route serves every name', async () => {
    const config = oneCertificate('unused.crt', 'unused.key', 'hosts:\n  - host: a.test\n    servers: [127.0.0.1:9]\npaths:\n  - path: /\n    servers: [127.0.0.1:9]\n');
    const { code, stderr } = await check('unused-path-route', config);
    expect(code).toBe(0);
    expect(stderr).not.toContain('warning');
  });

  it('does not warn when a host route uses a name the wildcard certificate covers', async () => {
    const config = oneCertificate('w.crt', 'other.key', 'hosts:\n  - host: x.w.test\n    servers: [127.0.0.1:9]\n');
    const { code, stderr } = await check('wildcard-used', config);
    expect(code).toBe(0);
    expect(stderr).not.toContain('warning');
  });
});

describe.each(['node', 'deno'] as const)('serve refuses bad certificates (%s)', (runtime) => {
  it('exits 1 without listening, naming each bad certificate at its field', async () => {
    const config = `listen:
  - address: 127.0.0.1:0
    tls:
      certificates:
        - { cert: missing.crt, key: a.key }
        - { cert: a.crt, key: other.key }
        - { cert: expired.crt, key: expired.key }
        - { cert: notes.txt, key: a.key }
hosts:
  - host: a.test
    servers: [127.0.0.1:9]
`;
    const file = join(checkDir(), `serve-${runtime}.yaml`);
    await writeFile(file, config);
    const { code, stdout, stderr } = await serveUntilExit(runtime, { file }, { loopback: false });
    expect(code, stderr).toBe(1);
    expect(stdout).not.toContain('listening on');
    const lines = stderr.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${escape(locate(file, config, 'missing.crt'))}: listen\\[0\\]\\.tls\\.certificates\\[0\\]\\.cert: cannot read `)),
        `${locate(file, config, 'other.key')}: listen[0].tls.certificates[1].key: other.key is not the key of the certificate in a.crt`,
        `${locate(file, config, 'expired.crt')}: listen[0].tls.certificates[2].cert: the certificate in expired.crt expired on 2020-02-01T00:00:00.000Z`,
        `${locate(file, config, 'notes.txt')}: listen[0].tls.certificates[3].cert: notes.txt is not a PEM certificate`,
      ]),
    );
  }, 40_000);
});
