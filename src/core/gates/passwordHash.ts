import bcrypt from 'bcryptjs';
import { scryptAsync } from '@noble/hashes/scrypt.js';

/** A `basic_auth` password hash, parsed once when the config is compiled. */
export type PasswordHash =
  | { readonly kind: 'bcrypt'; readonly text: string }
  | { readonly kind: 'scrypt'; readonly log2N: number; readonly r: number; readonly p: number; readonly salt: Uint8Array; readonly key: Uint8Array };

/** `$2a$`, `$2b$` or `$2y$`, the cost, then 22 characters of salt and 31 of hash (bcrypt's own base64). */
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
/**
 * The PHC string format (github.com/P-H-C/phc-string-format), as passlib writes scrypt:
 * `$scrypt$ln=15,r=8,p=1$SALT$KEY`, salt and key in base64 without padding.
 */
const SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * Costs past these take pure JavaScript longer than a request should wait (bcrypt 12 is about half
 * a second of CPU per check, scrypt at 32 MiB about as long) and let a few wrong passwords busy the balancer.
 */
const MAX_BCRYPT_COST = 12;
const MAX_SCRYPT_MEMORY = 32 * 1024 * 1024;
const MAX_SCRYPT_P = 4;

const OTHER_SCHEMES: readonly [RegExp, string][] = [
  [/^\$apr1\$|^\$1\$/, 'MD5-crypt'],
  [/^\{SHA\}/, 'SHA-1'],
  [/^\$5\$|^\$6\$/, 'SHA-crypt'],
  [/^\$argon2/, 'argon2'],
  [/^\$2[aby]?\$/, 'a malformed bcrypt'],
  [/^\$scrypt\$/, 'a malformed scrypt'],
];

const HOW_TO_HASH = 'make one with `htpasswd -nbB USER PASSWORD` (bcrypt), or as docs/edge-middleware.md shows';

/**
 * Why a config's password hash cannot be used, or undefined when it can. Never quotes the value:
 * it may be a plain password someone meant to hash.
 */
export function describePasswordHashProblem(text: string): string | undefined {
  const parsed = parsePasswordHash(text);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** The hash, or why it cannot be used. */
export function parsePasswordHash(text: string): PasswordHash | string {
  const bcryptMatch = BCRYPT.exec(text);
  if (bcryptMatch) {
    const cost = Number(bcryptMatch[1]);
    if (cost < 4 || cost > MAX_BCRYPT_COST) return `a bcrypt cost of ${cost} is outside 4-${MAX_BCRYPT_COST} (pure JavaScript bcrypt at ${MAX_BCRYPT_COST} takes about half a second per check); ${HOW_TO_HASH}`;
    return { kind: 'bcrypt', text };
  }
  const scryptMatch = SCRYPT.exec(text);
  if (scryptMatch) {
    const [log2N, r, p] = scryptMatch.slice(1, 4).map(Number);
    const salt = decodeBase64(scryptMatch[4]);
    const key = decodeBase64(scryptMatch[5]);
    if (log2N < 1 || r < 1 || p < 1 || p > MAX_SCRYPT_P || 128 * 2 ** log2N * r > MAX_SCRYPT_MEMORY) {
      return `scrypt parameters ln=${log2N},r=${r},p=${p} are out of bounds: ln and r with 128 * 2^ln * r at most 32 MiB, p 1-${MAX_SCRYPT_P}; ${HOW_TO_HASH}`;
    }
    // RFC 7914 section 2: N < 2^(128 r / 8). OpenSSL (node:crypto, on the checking threads) refuses
    // other pairs, which would fail every login; refused here, they fail the config instead.
    if (log2N >= 16 * r) return `scrypt parameters ln=${log2N},r=${r} break N < 2^(16 r) (RFC 7914 section 2): raise r or lower ln; ${HOW_TO_HASH}`;
    if (!salt || salt.length < 8 || !key || key.length < 16) return `a scrypt hash needs a salt of at least 8 bytes and a key of at least 16, in base64; ${HOW_TO_HASH}`;
    return { kind: 'scrypt', log2N, r, p, salt, key };
  }
  for (const [pattern, name] of OTHER_SCHEMES) if (pattern.test(text)) return `${name} hash cannot be used: bcrypt or scrypt only; ${HOW_TO_HASH}`;
  return `this is not a bcrypt or scrypt hash, and plain passwords are refused; ${HOW_TO_HASH}`;
}

/**
 * A check's cost, in bcrypt rounds (bcrypt at cost 10 is 1024): bcrypt doubles with each cost;
 * scrypt grows with N x r x p, and at ln=15,r=8,p=1 takes about twice bcrypt 10 (measured in pure
 * JavaScript, bcryptjs against noble's scrypt). An estimate, to compare hashes of both kinds.
 */
export function checkCost(hash: PasswordHash): number {
  return hash.kind === 'bcrypt' ? 2 ** Number(hash.text.slice(4, 6)) : (2 ** hash.log2N * hash.r * hash.p) / 128;
}

/**
 * Whether `password` is the one `hash` was made of. Asynchronous in slices (bcryptjs's and noble's
 * async forms): where this runs on the event loop (`InlinePasswordChecks`), other requests get a
 * turn between slices, though a bcrypt slice holds the thread up to 100 ms.
 */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  if (hash.kind === 'bcrypt') return bcrypt.compare(password, hash.text);
  const derived = await scryptAsync(password, hash.salt, { N: 2 ** hash.log2N, r: hash.r, p: hash.p, dkLen: hash.key.length, asyncTick: 10 });
  return constantTimeEqual(derived, hash.key);
}

/** Compares every byte whatever the first difference, so the time taken tells nothing (RFC 7617 section 4 asks as much). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

function decodeBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}
