/**
 * MurmurHash3 (x86, 32-bit) of a string's UTF-16 code units: fast, well mixed, the same on every
 * runtime. Used for the consistent-hash ring and the sticky cookie; not for anything secret.
 */
export function hash32(text: string, seed = 0): number {
  let h = seed >>> 0;
  const length = text.length;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    h = mixInto(h, (text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16)) >>> 0);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  if (i < length) h = mixInto(h, text.charCodeAt(i));
  h ^= length * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixInto(h: number, block: number): number {
  let k = Math.imul(block, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  return h ^ k;
}
