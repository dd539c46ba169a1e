import { scryptSync, timingSafeEqual } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { PasswordHash } from '../core/gates/passwordHash.ts';

/** One check asked of the thread. */
export interface CheckMessage {
  readonly id: number;
  readonly password: string;
  readonly hash: PasswordHash;
}

/** Its verdict, or why there is none. */
export type VerdictMessage = { readonly id: number; readonly matches: boolean } | { readonly id: number; readonly error: string };

/**
 * A password-check thread (`ThreadedPasswordChecks`): each check runs at once, synchronously,
 * since this thread serves nothing else. scrypt is the runtime's own, native (several times
 * quicker than pure JavaScript); bcrypt is bcryptjs, as on Workers.
 */
function matches(password: string, hash: PasswordHash): boolean {
  if (hash.kind === 'bcrypt') return bcrypt.compareSync(password, hash.text);
  const N = 2 ** hash.log2N;
  // Room for scrypt's 128 x N x r bytes, which the config bounds at 32 MiB, and its 128 x r x p more.
  const derived = scryptSync(password, hash.salt, hash.key.length, { N, r: hash.r, p: hash.p, maxmem: 2 * 128 * N * hash.r + 1024 * 1024 });
  return timingSafeEqual(derived, hash.key);
}

parentPort!.on('message', ({ id, password, hash }: CheckMessage) => {
  let verdict: VerdictMessage;
  try {
    verdict = { id, matches: matches(password, hash) };
  } catch (error) {
    verdict = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(verdict);
});
