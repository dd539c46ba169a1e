import { X509Certificate, createPrivateKey, randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A certificate and its key as stored, with the times that decide when it is renewed. */
export interface StoredCertificate {
  /** The chain, PEM: the certificate first, then its intermediates. */
  readonly cert: string;
  readonly key: string;
  /** ms since the epoch */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A failed order's record: how many in a row, why the last one failed, and when to try again (ms since the epoch). */
export interface OrderFailure {
  readonly failures: number;
  readonly reason: string;
  readonly nextTry: number;
}

/**
 * A challenge answer or temporary file older than this belongs to an order long over (one is
 * abandoned at 5 minutes), or to a process that died: a younger one may be a live process's, one
 * sharing the directory, that is writing it as this one starts.
 */
const LEFTOVER_AGE_MS = 3_600_000;

/**
 * The `tls.acme.storage` directory: the account key per CA, and per host name its certificate,
 * key and lock. Created with mode 0700, every file written 0600 (keys are secrets); a file is
 * written whole to a temporary name and renamed, so another process sharing the directory never
 * reads half of one.
 *
 * ```
 * accounts/<directory host and path>/account.key
 * certificates/<host>/certificate.pem, key.pem, failure.json (the last failed order, its next try)
 * challenges/<token>          HTTP-01 answers, for every process sharing the directory
 * locks/<host>.lock
 * ```
 */
export class AcmeStorage {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Creates the directory and its subdirectories where missing, and makes them 0700 (mkdir's mode
   * is masked by the umask, and a directory made beforehand, by an operator or systemd's
   * `StateDirectory=`, is often 0755). Removes what a process that died left: temporary files
   * and HTTP-01 answers older than any order. Not younger ones: a process sharing the directory
   * (another worker of `--workers`, started a little later) may be about to rename its temporary
   * file in place, and would fail its order on a rename that finds it gone.
   */
  async open(): Promise<void> {
    for (const sub of ['', 'accounts', 'certificates', 'challenges', 'locks']) {
      const path = join(this.dir, sub);
      await mkdir(path, { recursive: true, mode: 0o700 });
      await chmod(path, 0o700);
    }
    await this.#removeLeftovers();
  }

  async #removeLeftovers(): Promise<void> {
    const old = Date.now() - LEFTOVER_AGE_MS;
    const removeOld = async (dir: string, candidate: (name: string) => boolean) => {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!candidate(name)) continue;
        if (((await stat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? Infinity) < old) await unlink(join(dir, name)).catch(() => {});
      }
    };
    const isTemporary = (name: string) => name.endsWith('.tmp');
    for (const parent of ['accounts', 'certificates']) {
      for (const name of await readdir(join(this.dir, parent)).catch(() => [] as string[])) await removeOld(join(this.dir, parent, name), isTemporary);
    }
    await removeOld(join(this.dir, 'challenges'), () => true);
  }

  /** The account key for a CA's directory URL, made by `create` (and stored) the first time. */
  async accountKey(directory: string, create: () => Promise<string>): Promise<string> {
    const dir = join(this.dir, 'accounts', safeName(directory.replace(/^https?:\/\//, '')));
    const file = join(dir, 'account.key');
    const stored = await readFile(file, 'utf8').catch(() => undefined);
    if (stored) return stored;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const key = await create();
    // Written whole, then linked in place: atomic, and exclusive (EEXIST), so a process starting
    // at the same moment neither reads half a key nor replaces the key written first.
    const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temporary, key, { mode: 0o600 });
    try {
      await link(temporary, file);
      return key;
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST') return readFile(file, 'utf8');
      throw error;
    } finally {
      await unlink(temporary).catch(() => {});
    }
  }

  /** The stored certificate for `host`, when there is a usable one: readable, its key its own, naming `host`. */
  async certificate(host: string): Promise<StoredCertificate | undefined> {
    const dir = join(this.dir, 'certificates', safeName(host));
    try {
      const [cert, key] = await Promise.all([readFile(join(dir, 'certificate.pem'), 'utf8'), readFile(join(dir, 'key.pem'), 'utf8')]);
      const x509 = new X509Certificate(cert);
      if (!x509.checkPrivateKey(createPrivateKey(key)) || !x509.checkHost(host)) return undefined;
      return { cert, key, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo) };
    } catch {
      return undefined;
    }
  }

  /** Stores `host`'s new certificate and key; the key first, so a reader never pairs a new certificate with an old key for long. */
  async saveCertificate(host: string, cert: string, key: string): Promise<void> {
    const dir = join(this.dir, 'certificates', safeName(host));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeWhole(join(dir, 'key.pem'), key);
    await writeWhole(join(dir, 'certificate.pem'), cert);
  }

  /** The last failed order for `host`, as recorded by whichever process sharing the directory made it. */
  async failure(host: string): Promise<OrderFailure | undefined> {
    try {
      const failure = JSON.parse(await readFile(this.#failureFile(host), 'utf8')) as OrderFailure;
      return typeof failure.nextTry === 'number' && typeof failure.failures === 'number' ? failure : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records a failed order, so every process sharing the directory waits for the same next try rather than each ordering in turn. */
  async saveFailure(host: string, failure: OrderFailure): Promise<void> {
    await mkdir(join(this.dir, 'certificates', safeName(host)), { recursive: true, mode: 0o700 });
    await writeWhole(this.#failureFile(host), JSON.stringify(failure));
  }

  clearFailure(host: string): Promise<void> {
    return unlink(this.#failureFile(host)).catch(() => {});
  }

  #failureFile(host: string): string {
    return join(this.dir, 'certificates', safeName(host), 'failure.json');
  }

  /** The lock file of `host`'s orders. */
  lockFile(host: string): string {
    return join(this.dir, 'locks', `${safeName(host)}.lock`);
  }

  /** Publishes an HTTP-01 answer for every process sharing the directory. */
  saveChallenge(token: string, keyAuthorization: string): Promise<void> {
    return writeWhole(join(this.dir, 'challenges', safeName(token)), keyAuthorization);
  }

  removeChallenge(token: string): Promise<void> {
    return unlink(join(this.dir, 'challenges', safeName(token))).catch(() => {});
  }

  /** The stored HTTP-01 answer for `token`, written by this process or another one sharing the directory. */
  async challenge(token: string): Promise<string | undefined> {
    return readFile(join(this.dir, 'challenges', safeName(token)), 'utf8').catch(() => undefined);
  }
}

async function writeWhole(file: string, text: string): Promise<void> {
  // Not the pid alone: two containers sharing the volume may both be pid 1.
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, file);
}

/** A name as a file name: host names and tokens are already safe; anything else is replaced, so no name leaves the directory. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}
