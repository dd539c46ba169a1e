import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acmeHosts } from '../../src/acme/acmeHosts.ts';
import { AcmeStorage } from '../../src/acme/acmeStorage.ts';
import { FIRST_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS, renewalTime, retryDelay } from '../../src/acme/renewalSchedule.ts';
import { takeLock } from '../../src/acme/storageLock.ts';

// Issue 17, point 2: where tls.acme keeps its certificates, when it renews them, how it waits
// after a failure, and how processes sharing a storage directory take turns. The orders
// themselves are tested against pebble (test/e2e/acme.test.ts).

const DAY = 86_400_000;

describe('the renewal schedule', () => {
  it('renews at two thirds of the lifetime: day 60 of a 90-day certificate', () => {
    expect(renewalTime(0, 90 * DAY)).toBe(60 * DAY);
    expect(renewalTime(1000, 1000 + 30_000)).toBe(21_000);
  });

  it('waits 1 minute after a first failure, doubling each time, never more than an hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((failures) => retryDelay(failures))).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60].map((minutes) => minutes * 60_000));
    expect(retryDelay(1)).toBe(FIRST_RETRY_DELAY_MS);
    expect(retryDelay(100)).toBe(MAX_RETRY_DELAY_MS);
  });

  it("waits as long as the CA's Retry-After when that is longer", () => {
    expect(retryDelay(1, 3 * 3_600_000)).toBe(3 * 3_600_000);
    expect(retryDelay(3, 1000)).toBe(4 * 60_000);
  });
});

describe('the storage directory', () => {
  it('is created 0700 and writes every file 0600', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-')), 'acme');
    const storage = new AcmeStorage(dir);
    const umask = process.umask(0o022);
    try {
      await storage.open();
      await storage.accountKey('https://ca.test/dir', async () => 'KEY');
      await storage.saveCertificate('a.test', 'CERT', 'KEY');
      await storage.saveChallenge('token_1', 'token_1.thumb');
    } finally {
      process.umask(umask);
    }
    for (const sub of ['', 'accounts', 'certificates', 'challenges', 'locks']) expect((await stat(join(dir, sub))).mode & 0o777).toBe(0o700);
    for (const file of ['accounts/ca.test_dir/account.key', 'certificates/a.test/certificate.pem', 'certificates/a.test/key.pem', 'challenges/token_1']) {
      expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o600);
    }
  });

  it('makes a directory made beforehand 0700, and removes the old temporary files and challenge answers a dead process left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-'));
    await mkdir(join(dir, 'certificates', 'a.test'), { recursive: true, mode: 0o755 });
    await mkdir(join(dir, 'accounts', 'ca.test_dir'), { recursive: true, mode: 0o755 });
    await mkdir(join(dir, 'challenges'), { mode: 0o755 });
    await chmod(dir, 0o755);
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    const old = async (file: string, text: string) => {
      await writeFile(join(dir, file), text);
      await utimes(join(dir, file), twoHoursAgo, twoHoursAgo);
    };
    await old('certificates/a.test/key.pem.4242.tmp', 'HALF');
    await old('accounts/ca.test_dir/account.key.4242.f00.tmp', 'HALF');
    await old('challenges/old_token', 'old');
    // A process sharing the directory writing these as this one starts: they are not its leftovers.
    await writeFile(join(dir, 'certificates', 'a.test', 'certificate.pem.4343.tmp'), 'BEING WRITTEN');
    await writeFile(join(dir, 'accounts', 'ca.test_dir', 'account.key.4343.ba7.tmp'), 'BEING WRITTEN');
    await writeFile(join(dir, 'challenges', 'new_token'), 'new');
    await new AcmeStorage(dir).open();
    for (const sub of ['', 'certificates', 'challenges']) expect((await stat(join(dir, sub))).mode & 0o777, sub || 'storage').toBe(0o700);
    expect(await readdir(join(dir, 'certificates', 'a.test'))).toEqual(['certificate.pem.4343.tmp']);
    expect(await readdir(join(dir, 'accounts', 'ca.test_dir'))).toEqual(['account.key.4343.ba7.tmp']);
    expect(await readdir(join(dir, 'challenges'))).toEqual(['new_token']);
  });

  // Under `serve --workers 2` on Deno the second worker can start (and open the storage) while the
  // first stores the certificate it ordered: its rename found the temporary file gone, the order
  // failed and was made again a minute later (the likely cause of two orders seen once in e2e).
  it('lets a process store its certificate while another process sharing the directory starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-'));
    const ordering = new AcmeStorage(dir);
    await ordering.open();
    const failures: string[] = [];
    const saving = (async () => {
      for (let i = 0; i < 150; i++) await ordering.saveCertificate('a.test', 'CERT'.repeat(2000), 'KEY'.repeat(500)).catch((error: Error) => failures.push(error.message));
    })();
    let opened = 0;
    let saved = false;
    void saving.then(() => (saved = true));
    while (!saved) {
      await new AcmeStorage(dir).open();
      opened++;
    }
    await saving;
    expect(opened).toBeGreaterThan(10);
    expect(failures).toEqual([]);
  }, 60_000);

  it('keeps the account key made first, so processes starting together share one account', async () => {
    const storage = new AcmeStorage(await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-')));
    await storage.open();
    const keys = await Promise.all([storage.accountKey('https://ca.test/dir', async () => 'FIRST'), storage.accountKey('https://ca.test/dir', async () => 'SECOND')]);
    expect(new Set(keys).size).toBe(1);
    expect(await storage.accountKey('https://ca.test/dir', async () => 'THIRD')).toBe(keys[0]);
    // Linked in place whole: no temporary file stays beside it.
    expect(await readdir(join(storage.dir, 'accounts', 'ca.test_dir'))).toEqual(['account.key']);
  });

  it('gives back a stored certificate only when its key is its own and it names the host', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-'));
    const storage = new AcmeStorage(dir);
    await storage.open();
    const make = (name: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`], { stdio: 'ignore' });
    };
    make('a.test');
    make('b.test');
    const [cert, key, otherKey] = await Promise.all([readFile(join(dir, 'a.test.pem'), 'utf8'), readFile(join(dir, 'a.test.key'), 'utf8'), readFile(join(dir, 'b.test.key'), 'utf8')]);
    await storage.saveCertificate('a.test', cert, key);
    const stored = await storage.certificate('a.test');
    expect(stored?.cert).toBe(cert);
    expect(stored!.notAfter - stored!.notBefore).toBe(DAY);
    await storage.saveCertificate('c.test', cert, key);
    expect(await storage.certificate('c.test')).toBeUndefined();
    await storage.saveCertificate('a.test', cert, otherKey);
    expect(await storage.certificate('a.test')).toBeUndefined();
    expect(await storage.certificate('never.test')).toBeUndefined();
  });

  it('keeps a challenge token from naming a file outside its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-'));
    const storage = new AcmeStorage(join(dir, 'acme'));
    await storage.open();
    await writeFile(join(dir, 'secret'), 'SECRET');
    expect(await storage.challenge('../secret')).toBeUndefined();
  });
});

describe('the lock', () => {
  it('makes a second taker wait until the first releases, telling it who holds the lock', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-')), 'a.test.lock');
    const { release } = await takeLock(file);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const waited: unknown[] = [];
    let second = false;
    const taking = takeLock(file, { pollMs: 5, onWait: (owner) => waited.push(owner) }).then((releaseSecond) => ((second = true), releaseSecond));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(second).toBe(false);
    expect(waited).toEqual([expect.objectContaining({ pid: process.pid })]);
    await release();
    await (await taking).release();
    expect(second).toBe(true);
    await expect(stat(file)).rejects.toThrow();
  });

  it('gives up the wait when its signal is aborted (a process stopping), and takes nothing after', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-')), 'a.test.lock');
    const first = await takeLock(file);
    const stopping = new AbortController();
    const waiting = takeLock(file, { pollMs: 60_000, signal: stopping.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    stopping.abort(new Error('stopped'));
    // At once, not at the next look a minute later (vitest's 20 s would end the test first).
    await expect(waiting).rejects.toThrow('stopped');
    await first.release();
    await expect(stat(file)).rejects.toThrow();
  });

  it('takes over a lock not refreshed for staleMs (60 s by default), its holder gone', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-')), 'a.test.lock');
    await writeFile(file, JSON.stringify({ pid: 999_999, at: Date.now(), id: 'crashed' }));
    const minuteAgo = new Date(Date.now() - 61_000);
    await utimes(file, minuteAgo, minuteAgo);
    const { release } = await takeLock(file, { onWait: () => expect.fail('a stale lock is not waited for') });
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(process.pid);
    await release();
  });

  it('keeps a lock its holder refreshes, however long it holds it', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-')), 'a.test.lock');
    const held = await takeLock(file, { heartbeatMs: 50 });
    let taken = false;
    const taking = takeLock(file, { staleMs: 1000, pollMs: 20 }).then((lock) => ((taken = true), lock));
    // Three times staleMs: a lock judged by its age alone would have been taken over.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(taken).toBe(false);
    expect(await held.holds()).toBe(true);
    await held.release();
    await (await taking).release();
  });

  it('lets one taker only hold a stale lock, however many take it over at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-'));
    for (let round = 0; round < 60; round++) {
      const file = join(dir, `r${round}.lock`);
      await writeFile(file, JSON.stringify({ pid: 999_999, at: 0, id: 'crashed' }));
      await utimes(file, new Date(0), new Date(0));
      let holders = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const lock = await takeLock(file, { pollMs: 5, staleMs: 60_000 });
          most = Math.max(most, ++holders);
          await new Promise((resolve) => setTimeout(resolve, 10));
          holders--;
          await lock.release();
        }),
      );
      expect(most, `round ${round}`).toBe(1);
    }
  }, 60_000);

  it('does not remove a lock another process took over after this one went stale', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-')), 'a.test.lock');
    const { release, holds } = await takeLock(file);
    await writeFile(file, JSON.stringify({ pid: 4242, at: Date.now(), id: 'another' }));
    expect(await holds()).toBe(false);
    await release();
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(4242);
  });
});

describe('the names ordered', () => {
  it('orders exact names once each, and skips wildcards, IP addresses, dotless names, path-only routes and names a certificate file holds', () => {
    const { hosts, skipped } = acmeHosts(['a.test', 'A.test:8443', undefined, '*.wild.test', '127.0.0.1', '[::1]', 'localhost', 'held.test'], (host) => host === 'held.test');
    expect(hosts).toEqual(['a.test']);
    expect(skipped.map(([host]) => host)).toEqual(['*.wild.test', '127.0.0.1', '[::1]', 'localhost']);
  });
});
