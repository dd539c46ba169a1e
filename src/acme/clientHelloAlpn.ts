/** What the first bytes of a connection say about ALPN: more bytes are needed, or the protocols offered (none when there is no ALPN, or it is no TLS ClientHello). */
export type HelloAlpn = { readonly incomplete: true } | { readonly incomplete: false; readonly protocols: readonly string[] };

const INCOMPLETE: HelloAlpn = { incomplete: true };
const NONE: HelloAlpn = { incomplete: false, protocols: [] };
const DECODER = new TextDecoder();
/** A TLS record's longest plaintext (RFC 8446 section 5.1) plus its header. */
export const MAX_HELLO_BYTES = 5 + 16_384;

/**
 * The ALPN protocols a TLS ClientHello offers (RFC 7301), read from the first record of a
 * connection (RFC 8446 sections 4.1.2 and 5.1): a record of type 22 (handshake) holding a
 * handshake of type 1. A ClientHello split across records, or anything else, offers none here:
 * such a connection goes on to the listener as usual. Post-quantum key shares make ClientHellos
 * longer than one TCP segment, so the caller gathers bytes while this says `incomplete`.
 */
export function clientHelloAlpn(bytes: Uint8Array): HelloAlpn {
  if (bytes.length < 5) return bytes.length === 0 || bytes[0] === 22 ? INCOMPLETE : NONE;
  if (bytes[0] !== 22) return NONE;
  const recordEnd = 5 + ((bytes[3] << 8) | bytes[4]);
  if (recordEnd > MAX_HELLO_BYTES) return NONE;
  if (bytes.length < recordEnd) return INCOMPLETE;
  const view = new DataView(bytes.buffer, bytes.byteOffset, recordEnd);
  let at = 5;
  // Handshake type 1 (client_hello), a 3-byte length; then version (2) and random (32).
  if (bytes[at] !== 1 || recordEnd < at + 4) return NONE;
  const helloEnd = at + 4 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
  if (helloEnd > recordEnd) return NONE;
  at += 4 + 2 + 32;
  const skip = (lengthBytes: 1 | 2) => {
    if (at + lengthBytes > helloEnd) return false;
    at += lengthBytes + (lengthBytes === 1 ? bytes[at] : view.getUint16(at));
    return at <= helloEnd;
  };
  // session_id, cipher_suites, compression_methods
  if (!skip(1) || !skip(2) || !skip(1)) return NONE;
  if (at + 2 > helloEnd) return NONE;
  const extensionsEnd = Math.min(at + 2 + view.getUint16(at), helloEnd);
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = view.getUint16(at);
    const length = view.getUint16(at + 2);
    const start = at + 4;
    at = start + length;
    if (at > extensionsEnd) return NONE;
    if (type !== 0x0010) continue;
    // application_layer_protocol_negotiation: a 2-byte list length, then 1-byte-length names.
    const protocols: string[] = [];
    let p = start + 2;
    while (p < at) {
      const end = p + 1 + bytes[p];
      if (end > at) return NONE;
      protocols.push(DECODER.decode(bytes.subarray(p + 1, end)));
      p = end;
    }
    return { incomplete: false, protocols };
  }
  return NONE;
}
