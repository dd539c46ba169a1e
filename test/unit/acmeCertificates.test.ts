import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AcmeCertificates } from '../../src/acme/AcmeCertificates.ts';
import { deadPort } from '../helpers/deadPort.ts';
import { waitFor } from '../helpers/waitFor.ts';

// Issue 17, point 2, against CAs that misbehave (pebble cannot be made to hang): a stored
// certificate is served at once whatever the CA does, an order has a deadline, a CA that cannot be
// reached is named in the failed line, and a failure is shared through the storage directory.
// Each fails without its fix: the serial queue, acme-client's retries, the lock read first.

const settings = { email: 'ops@example.test', challenge: 'http-01' as const };
const running: AcmeCertificates[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((acme) => acme.stop()));
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A storage directory holding a valid self-signed certificate for each of `hosts`. */
async function storageWith(...hosts: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-acme-certs-'));
  for (const host of hosts) {
    const at = join(dir, 'certificates', host);
    await mkdir(at, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(at, 'key.pem'), '-out', join(at, 'certificate.pem'), '-days', '30', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`], { stdio: 'ignore' });
  }
  return dir;
}

/** A CA that accepts connections and never answers. */
async function hangingCa(): Promise<string> {
  const server = createNetServer((socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/dir`;
}

async function start(storage: string, directory: string, hosts: string[], options: { orderDeadlineMs?: number } = {}) {
  const lines: string[] = [];
  const acme = new AcmeCertificates({ settings: { ...settings, directory, storage } as never, storage, contextOptions: { minVersion: 'TLSv1.2' }, log: (line) => lines.push(line), ...options });
  running.push(acme);
  await acme.storage.open();
  acme.setHosts(hosts);
  return { acme, lines };
}

describe('tls.acme against a CA that misbehaves', () => {
  it("serves a stored certificate at once while another name's order hangs on a CA that never answers, and abandons that order at its deadline", async () => {
    const storage = await storageWith('b.test');
    const { acme, lines } = await start(storage, await hangingCa(), ['new.test', 'b.test'], { orderDeadlineMs: 5000 });
    await waitFor(() => acme.contextFor('b.test') !== undefined, 10_000, 'b.test served from storage');
    // Served while new.test's order still hangs, not once its deadline let a queue move on.
    expect(lines.filter((line) => line.startsWith('acme: new.test: failed'))).toEqual([]);
    await waitFor(() => lines.some((line) => line.startsWith('acme: new.test: failed: the order took longer than 5 s')), 20_000, `new.test's order abandoned: ${lines.join(' | ')}`);
  });

  it('serves a stored certificate whose lock a crashed process left, without waiting for the lock', async () => {
    const storage = await storageWith('b.test');
    await mkdir(join(storage, 'locks'), { recursive: true });
    await writeFile(join(storage, 'locks', 'b.test.lock'), JSON.stringify({ pid: 999_999, at: Date.now(), id: 'crashed' }));
    const { acme } = await start(storage, await hangingCa(), ['b.test']);
    await waitFor(() => acme.contextFor('b.test') !== undefined, 10_000, 'b.test served from storage');
  });

  it('names the CA it cannot reach, and why, in the failed line, and records the failure for the processes sharing the storage', async () => {
    const directory = `http://127.0.0.1:${await deadPort()}/dir`;
    const { acme, lines } = await start(await mkdtemp(join(tmpdir(), 'switchyard-acme-certs-')), directory, ['new.test']);
    await waitFor(() => lines.some((line) => line.startsWith('acme: new.test: failed:')), 20_000, 'a failed line');
    expect(lines.find((line) => line.startsWith('acme: new.test: failed:'))).toBe(`acme: new.test: failed: cannot reach ${directory}: ECONNREFUSED; retry in 60 s`);
    const recorded = JSON.parse(await readFile(join(acme.storage.dir, 'certificates', 'new.test', 'failure.json'), 'utf8'));
    expect(recorded).toMatchObject({ failures: 1, reason: `cannot reach ${directory}: ECONNREFUSED` });
    expect(recorded.nextTry).toBeGreaterThan(Date.now());
  });

  it("fails a request a CA rate-limits at once, naming the status, rather than sleeping its Retry-After (an hour) inside the request", async () => {
    const ca = createHttpServer((_, response) => response.writeHead(429, { 'retry-after': '3600', 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders' })));
    servers.push(ca);
    await new Promise<void>((resolve) => ca.listen(0, '127.0.0.1', resolve));
    const { lines } = await start(await mkdtemp(join(tmpdir(), 'switchyard-acme-certs-')), `http://127.0.0.1:${(ca.address() as AddressInfo).port}/dir`, ['new.test']);
    await waitFor(() => lines.some((line) => line.startsWith('acme: new.test: failed:')), 20_000, 'a failed line');
    expect(lines.find((line) => line.startsWith('acme: new.test: failed:'))).toMatch(/: failed: .*error 429.*; retry in 60 s$/);
  });

  it("waits for the next try another process recorded after a failure rather than ordering again", async () => {
    let asked = 0;
    const ca = createHttpServer((_, response) => (asked++, response.writeHead(503).end()));
    servers.push(ca);
    await new Promise<void>((resolve) => ca.listen(0, '127.0.0.1', resolve));
    const storage = await mkdtemp(join(tmpdir(), 'switchyard-acme-certs-'));
    await mkdir(join(storage, 'certificates', 'new.test'), { recursive: true });
    const nextTry = Date.now() + 3_600_000;
    await writeFile(join(storage, 'certificates', 'new.test', 'failure.json'), JSON.stringify({ failures: 4, reason: 'the CA said no', nextTry }));
    const { lines } = await start(storage, `http://127.0.0.1:${(ca.address() as AddressInfo).port}/dir`, ['new.test']);
    await waitFor(() => lines.some((line) => line.includes('failed lately')), 10_000, `the recorded failure adopted: ${lines.join(' | ')}`);
    expect(lines).toContain(`acme: new.test: failed lately in a process sharing ${storage} (the CA said no); retry at ${new Date(nextTry).toISOString()}`);
    expect(asked).toBe(0);
  });
});
