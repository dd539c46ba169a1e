import * as answers from '../core/answers.ts';
import type { OwnAnswer } from '../core/answers.ts';
import { FieldList } from '../core/http/FieldList.ts';
import type { AcmeStorage } from './acmeStorage.ts';

/** Where the CA asks for HTTP-01 answers (RFC 8555 section 8.3). */
const PREFIX = '/.well-known/acme-challenge/';
/** A token is base64url (RFC 8555 section 8.1): anything else is no token, and never a file name. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * The HTTP-01 answers a plain listener gives, before any route, redirect or firewall: the ones
 * this process's orders published, then those of other processes sharing a storage directory (so
 * whichever process the CA reaches answers).
 */
export class Http01Answers {
  readonly #pending = new Map<string, { readonly host: string; readonly keyAuthorization: string }>();
  readonly #storages = new Set<AcmeStorage>();
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** Looks in `storage` too, for challenges other processes published. */
  share(storage: AcmeStorage): void {
    this.#storages.add(storage);
  }

  add(token: string, host: string, keyAuthorization: string): void {
    this.#pending.set(token, { host, keyAuthorization });
  }

  remove(token: string): void {
    this.#pending.delete(token);
  }

  /**
   * The answer to a request for `path`, or undefined when it is not under
   * `/.well-known/acme-challenge/` (then the request goes on as any other). An unknown token is 404.
   */
  answer(path: string, client: string | undefined): Promise<OwnAnswer> | undefined {
    if (!path.startsWith(PREFIX)) return undefined;
    const token = path.slice(PREFIX.length);
    if (!TOKEN.test(token)) return Promise.resolve(answers.notFound());
    return this.#find(token).then((found) => {
      if (found === undefined) return answers.notFound();
      this.#log(`acme: ${found.host ?? 'a name another process ordered'}: answered the http-01 challenge for ${client ?? 'a client'}`);
      return keyAuthorizationAnswer(found.keyAuthorization);
    });
  }

  async #find(token: string): Promise<{ host?: string; keyAuthorization: string } | undefined> {
    const pending = this.#pending.get(token);
    if (pending) return pending;
    for (const storage of this.#storages) {
      const keyAuthorization = await storage.challenge(token);
      if (keyAuthorization !== undefined) return { keyAuthorization };
    }
    return undefined;
  }
}

/** 200 with the key authorization as the whole body (RFC 8555 section 8.3), which the CA compares byte for byte. */
function keyAuthorizationAnswer(keyAuthorization: string): OwnAnswer {
  return { status: 200, headers: new FieldList(['content-type', 'application/octet-stream', 'cache-control', 'no-store']), body: keyAuthorization };
}
