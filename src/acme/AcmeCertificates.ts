import * as acme from 'acme-client';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { AcmeSettings } from '../core/config/compileListeners.ts';
import { trustForDirectory } from './acmeHttp.ts';
import { AcmeStorage, type StoredCertificate } from './acmeStorage.ts';
import type { Http01Answers } from './Http01Answers.ts';
import { MAX_TIMER_MS } from '../core/timers.ts';
import { renewalTime, retryDelay } from './renewalSchedule.ts';
import { takeLock, type HeldLock } from './storageLock.ts';

export interface AcmeCertificatesOptions {
  readonly settings: AcmeSettings;
  /** `tls.acme.storage` and `directory_ca`, made absolute. */
  readonly storage: string;
  readonly directoryCa?: string;
  /** The protocol settings every certificate's context gets (min_version, ciphers). */
  readonly contextOptions: SecureContextOptions;
  /** Where HTTP-01 answers are published for the plain listeners (`challenge: http-01`). */
  readonly http01?: Http01Answers;
  readonly log: (line: string) => void;
  /** The longest one order may take before it is abandoned and retried later. @default 5 min */
  readonly orderDeadlineMs?: number;
  /** The first wait after a failed order, doubled after each failure in a row: tests only. @default FIRST_RETRY_DELAY_MS (1 min) */
  readonly firstRetryMs?: number;
}

/** One host name's certificate, as served, and its next look. */
interface HostState {
  context?: SecureContext;
  notAfter?: number;
  failures: number;
  timer?: ReturnType<typeof setTimeout>;
  /** This host's looks, one after another; other hosts' run beside them. */
  looks: Promise<void>;
}

/**
 * `tls.acme` for one TLS listener: a certificate for each host name it is given, from storage or
 * ordered from the CA (RFC 8555), proven by HTTP-01 or TLS-ALPN-01, renewed at two thirds of its
 * lifetime, retried with backoff when an order fails. A new certificate is served to the next
 * handshakes (`contextFor` is asked per handshake); connections open keep theirs. Each host is
 * looked after on its own (a CA slow for one name holds up no other): a stored certificate is
 * served at once, read without the lock (files are written whole and renamed); an order runs
 * under its host's lock in the storage directory, with a deadline.
 */
export class AcmeCertificates {
  readonly storage: AcmeStorage;
  readonly #options: AcmeCertificatesOptions;
  readonly #hosts = new Map<string, HostState>();
  /** TLS-ALPN-01 answers: the challenge certificate per host name, while its order waits for validation. */
  readonly #alpn = new Map<string, SecureContext>();
  #client: Promise<acme.Client> | undefined;
  #stopped = false;
  /** Aborted by `stop`: an order waiting for another process's lock gives up the wait. */
  readonly #stopping = new AbortController();
  /** The release of the lock held by the order under way, if any: a stop lets the others go on at once, not after the lock goes stale. */
  readonly #held = new Set<HeldLock>();

  constructor(options: AcmeCertificatesOptions) {
    this.#options = options;
    this.storage = new AcmeStorage(options.storage);
    options.http01?.share(this.storage);
    if (options.directoryCa) trustForDirectory(options.settings.directory, readFileSync(options.directoryCa));
  }

  /** The certificate for `host`, once there is one. */
  contextFor(host: string): SecureContext | undefined {
    return this.#hosts.get(host)?.context;
  }

  /** The TLS-ALPN-01 challenge certificate for `host` (RFC 8737), while one is asked for. */
  challengeContextFor(host: string): SecureContext | undefined {
    return this.#alpn.get(host);
  }

  /** Whether `host` is one this listener obtains certificates for. */
  covers(host: string): boolean {
    return this.#hosts.has(host);
  }

  /** Each host's certificate expiry, in seconds since the epoch, for those that have one. */
  *expiries(): Iterable<[string, number]> {
    for (const [host, state] of this.#hosts) if (state.notAfter !== undefined) yield [host, state.notAfter / 1000];
  }

  /**
   * The host names to hold certificates for (at start-up, and after a reload): new ones are looked
   * up in storage and ordered if need be; gone ones are no longer renewed.
   */
  setHosts(hosts: readonly string[]): void {
    for (const [host, state] of this.#hosts) {
      if (hosts.includes(host)) continue;
      clearTimeout(state.timer);
      this.#hosts.delete(host);
    }
    for (const host of hosts) {
      if (this.#hosts.has(host)) continue;
      this.#hosts.set(host, { failures: 0, looks: Promise.resolve() });
      this.#enqueue(host);
    }
  }

  /** Stops every renewal and releases the lock of an order under way, which is abandoned. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort(new Error('stopped'));
    for (const state of this.#hosts.values()) clearTimeout(state.timer);
    await Promise.all([...this.#held].map((lock) => lock.release()));
  }

  #enqueue(host: string): void {
    const state = this.#hosts.get(host);
    if (state) state.looks = state.looks.then(() => this.#look(host));
  }

  #schedule(host: string, at: number): void {
    const state = this.#hosts.get(host);
    if (!state || this.#stopped) return;
    clearTimeout(state.timer);
    // Past the longest timer, it wakes early, finds nothing due, and waits again.
    state.timer = setTimeout(() => this.#enqueue(host), Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS));
    (state.timer as { unref?: () => void }).unref?.();
  }

  /** Serves what storage holds for `host` if it is newer, and orders a certificate when none is, or it is due. */
  async #look(host: string): Promise<void> {
    const { log } = this.#options;
    const state = this.#hosts.get(host);
    if (!state || this.#stopped) return;
    let lock: HeldLock | undefined;
    try {
      // Without the lock first: a stored certificate is served even while another process orders.
      if (!this.#due(host, state, await this.storage.certificate(host))) return;
      const lockFile = this.storage.lockFile(host);
      lock = await takeLock(lockFile, {
        onWait: (owner) => log(`acme: ${host}: waiting for ${owner ? `process ${owner.pid}` : 'another process'}, which holds ${lockFile}, to finish its order`),
        signal: this.#stopping.signal,
      });
      this.#held.add(lock);
      if (this.#stopped) return;
      // Again under the lock: the process that held it may just have written one.
      const stored = await this.storage.certificate(host);
      if (!this.#due(host, state, stored)) return;
      const failure = await this.storage.failure(host);
      if (failure && failure.nextTry > Date.now()) {
        // Another process sharing the storage failed lately: its backoff is everyone's.
        state.failures = failure.failures;
        log(`acme: ${host}: failed lately in a process sharing ${this.storage.dir} (${failure.reason}); retry at ${iso(failure.nextTry)}`);
        return this.#schedule(host, failure.nextTry);
      }
      const issued = await this.#orderWithin(host, lock);
      if (this.#stopped) return;
      this.#serve(state, issued);
      state.failures = 0;
      await this.storage.clearFailure(host);
      log(`acme: ${host}: ${stored ? 'renewed' : 'issued'}: expires ${iso(issued.notAfter)}, renewal from ${iso(renewalTime(issued.notBefore, issued.notAfter))}`);
      this.#schedule(host, renewalTime(issued.notBefore, issued.notAfter));
    } catch (error) {
      if (this.#stopped) return;
      state.failures++;
      const delay = retryDelay(state.failures, retryAfterOf(error), this.#options.firstRetryMs);
      const reason = reasonOf(error);
      // Recorded before it is told, so whoever reads the line finds the record.
      if (lock && (await lock.holds())) await this.storage.saveFailure(host, { failures: state.failures, reason, nextTry: Date.now() + delay }).catch(() => {});
      log(`acme: ${host}: failed: ${reason}; retry in ${Math.round(delay / 1000)} s`);
      this.#schedule(host, Date.now() + delay);
    } finally {
      if (lock) {
        this.#held.delete(lock);
        await lock.release();
      }
    }
  }

  /** Serves `stored` if it is new here; whether an order is due (none stored, or its renewal time has come), else the renewal is scheduled. */
  #due(host: string, state: HostState, stored: StoredCertificate | undefined): boolean {
    if (stored && Date.now() < stored.notAfter && stored.notAfter !== state.notAfter) {
      this.#serve(state, stored);
      this.#options.log(`acme: ${host}: using the certificate in ${this.storage.dir} (expires ${iso(stored.notAfter)}, renewal from ${iso(renewalTime(stored.notBefore, stored.notAfter))})`);
    }
    if (!stored || Date.now() >= renewalTime(stored.notBefore, stored.notAfter)) return true;
    state.failures = 0;
    this.#schedule(host, renewalTime(stored.notBefore, stored.notAfter));
    return false;
  }

  /** An order, abandoned at its deadline: a CA that answers each request slowly, or a validation that never ends, holds no lock for ever. */
  async #orderWithin(host: string, lock: HeldLock): Promise<StoredCertificate> {
    const deadlineMs = this.#options.orderDeadlineMs ?? 5 * 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let abandoned = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandoned = true;
        reject(new Error(`the order took longer than ${Math.round(deadlineMs / 1000)} s; abandoned`));
      }, deadlineMs);
      // Keeps no stopping process alive.
      (timer as { unref?: () => void }).unref?.();
    });
    // Saved only while this order still counts: not after its deadline, nor once its lock was taken over.
    const mayStore = async () => !abandoned && !this.#stopped && (await lock.holds());
    try {
      return await Promise.race([this.#order(host, mayStore), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  #serve(state: HostState, certificate: StoredCertificate): void {
    state.context = createSecureContext({ ...this.#options.contextOptions, cert: certificate.cert, key: certificate.key });
    state.notAfter = certificate.notAfter;
  }

  /** One order, step by step (RFC 8555 section 7.4), each step a log line. */
  async #order(host: string, mayStore: () => Promise<boolean>): Promise<StoredCertificate> {
    const { settings, log, http01 } = this.#options;
    const client = await this.#account();
    const order = await client.createOrder({ identifiers: [{ type: 'dns', value: host }] });
    log(`acme: ${host}: ordered a certificate from ${settings.directory} (${order.url}), to be proven by ${settings.challenge}`);
    for (const authorization of await client.getAuthorizations(order)) {
      if (authorization.status === 'valid') continue;
      const challenge = authorization.challenges.find((offered) => offered.type === settings.challenge);
      if (!challenge) throw new Error(`the CA offers no ${settings.challenge} challenge for ${host} (only ${authorization.challenges.map((offered) => offered.type).join(', ')})`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      const token = (challenge as { token: string }).token;
      let alpn: SecureContext | undefined;
      try {
        if (http01) {
          http01.add(token, host, keyAuthorization);
          await this.storage.saveChallenge(token, keyAuthorization);
        } else {
          const [key, cert] = await acme.crypto.createAlpnCertificate(authorization, keyAuthorization);
          this.#alpn.set(host, (alpn = createSecureContext({ key, cert })));
        }
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      } finally {
        // An order abandoned at its deadline ends later: the next order's challenge stays.
        if (alpn && this.#alpn.get(host) === alpn) this.#alpn.delete(host);
        if (http01) {
          http01.remove(token);
          await this.storage.removeChallenge(token);
        }
      }
      log(`acme: ${host}: the CA validated the ${settings.challenge} challenge`);
    }
    const [key, csr] = await acme.crypto.createCsr({ altNames: [host] }, await acme.crypto.createPrivateEcdsaKey());
    const finalized = await client.finalizeOrder(order, csr);
    const cert = await client.getCertificate(finalized);
    if (!(await mayStore())) throw new Error('the order ended after its deadline or after another process took its lock over; not stored');
    await this.storage.saveCertificate(host, cert, key.toString());
    const info = acme.crypto.readCertificateInfo(cert);
    return { cert, key: key.toString(), notBefore: info.notBefore.getTime(), notAfter: info.notAfter.getTime() };
  }

  /** The ACME account for the directory, its key from storage (made the first time); registered once per process. */
  #account(): Promise<acme.Client> {
    const { settings, log } = this.#options;
    this.#client ??= (async () => {
      const accountKey = await this.storage.accountKey(settings.directory, async () => (await acme.crypto.createPrivateEcdsaKey()).toString());
      const client = new acme.Client({ directoryUrl: settings.directory, accountKey });
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${settings.email}`] });
      log(`acme: account ${client.getAccountUrl()} for ${settings.email} at ${settings.directory}`);
      return client;
    })();
    // A CA down now may be up at the next try.
    this.#client.catch(() => (this.#client = undefined));
    return this.#client;
  }
}

/** Why an order failed, in one line: the CA's problem detail where it gave one (RFC 8555 section 6.7). */
function reasonOf(error: unknown): string {
  const problem = (error as { response?: { data?: { type?: string; detail?: string } } }).response?.data;
  if (problem?.detail) return `${problem.detail}${problem.type ? ` (${problem.type})` : ''}`;
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/** A CA's `Retry-After` on a refusal (rate limits, RFC 8555 section 6.6), in ms. */
function retryAfterOf(error: unknown): number {
  const value = (error as { response?: { headers?: Record<string, string> } }).response?.headers?.['retry-after'];
  if (value === undefined) return 0;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  // Neither seconds nor a date: our own backoff decides (a NaN delay would retry at once, in a loop).
  return Number.isFinite(ms) ? Math.max(ms, 0) : 0;
}

const iso = (ms: number) => new Date(ms).toISOString();
