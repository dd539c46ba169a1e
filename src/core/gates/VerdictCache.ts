import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * Recent password verdicts, keyed by a SHA-256 of the credentials (never the credentials
 * themselves), so a client sending the same `Authorization` on every request costs one slow check,
 * not one per request. Right and wrong verdicts are kept apart, each bounded (the oldest goes
 * first): a flood of distinct wrong passwords cannot push the right ones out.
 */
export class VerdictCache {
  readonly #granted = new Map<string, true>();
  readonly #refused = new Map<string, true>();

  /** @param size verdicts of each kind kept (default 1000) */
  constructor(readonly size = 1000) {}

  /** The key for a credentials text. */
  static keyOf(credentials: string): string {
    return bytesToHex(sha256(utf8ToBytes(credentials)));
  }

  get(key: string): boolean | undefined {
    if (this.#granted.has(key)) return true;
    if (this.#refused.has(key)) return false;
    return undefined;
  }

  set(key: string, granted: boolean): void {
    const kept = granted ? this.#granted : this.#refused;
    if (kept.size >= this.size) kept.delete(kept.keys().next().value!);
    kept.set(key, true);
  }
}
