const CR = 13;
const LF = 10;
const STATUS_LINE_START = 'HTTP/1.1 100'.length;
/** `statusAt`'s answers when there is no status code to give. */
const NOT_A_STATUS_LINE = -1;
const TOO_SHORT_TO_TELL = -2;

/** Inside a final response, or between exchanges: bytes pass untouched. */
const IDLE = 0;
/** Where a response (interim or final) starts. */
const STATUS = 1;
/** Inside a `100 Continue` head, which is dropped. */
const CONTINUE = 2;
/** Inside another interim head (102, 103, ...), which undici handles itself. */
const INTERIM = 3;
type State = typeof IDLE | typeof STATUS | typeof CONTINUE | typeof INTERIM;

/**
 * The status code of the status line starting at `at`, as `HTTP/d.d ddd`; `NOT_A_STATUS_LINE` when
 * the bytes cannot start one, `TOO_SHORT_TO_TELL` when they could but end too soon.
 */
function statusAt(bytes: Uint8Array, at: number): number {
  const end = Math.min(bytes.length, at + STATUS_LINE_START);
  for (let i = at; i < end; i++) {
    const byte = bytes[i];
    const offset = i - at;
    const fits =
      offset < 5 ? byte === 'HTTP/'.charCodeAt(offset) : offset === 6 ? byte === 0x2e : offset === 8 ? byte === 0x20 : byte >= 0x30 && byte <= 0x39;
    if (!fits) return NOT_A_STATUS_LINE;
  }
  if (end - at < STATUS_LINE_START) return TOO_SHORT_TO_TELL;
  return (bytes[at + 9] - 0x30) * 100 + (bytes[at + 10] - 0x30) * 10 + (bytes[at + 11] - 0x30);
}

/**
 * Removes `100 Continue` interim responses from the bytes a backend sends, so that undici 7, which
 * fails the exchange on one ("bad response", client-h1.js), reads on to the final response. RFC 9110
 * section 15.2: a client must accept 1xx responses it did not expect, and may ignore them. Only the
 * heads at the start of a response are looked at; a final response's bytes pass untouched, and
 * other 1xx heads pass too (undici reads past them itself).
 */
export class ContinueFilter {
  #state: State = IDLE;
  /** The first bytes of a status line, too few to tell whether it is a 100. */
  #held: Buffer | undefined;
  /** Where the scan of an interim head is: just after a line feed, and after a CR there. */
  #atLineStart = false;
  #crAtLineStart = false;

  /** A request was sent: the next bytes start its response. */
  expectResponse(): void {
    this.#state = STATUS;
    this.#held = undefined;
  }

  /** `chunk` without any 100 Continue heads; null when nothing of it is left to pass on yet. */
  take(chunk: Buffer): Buffer | null {
    if (this.#state === IDLE) return chunk;
    // The common case: a chunk that starts with a status line whose code does not start with 1.
    if (this.#state === STATUS && !this.#held && chunk.length > 9 && chunk[9] !== 0x31 && chunk[0] !== CR && chunk[0] !== LF) {
      this.#state = IDLE;
      return chunk;
    }
    let bytes = chunk;
    if (this.#held) {
      bytes = Buffer.concat([this.#held, chunk]);
      this.#held = undefined;
    }
    const length = bytes.length;
    let state: State = this.#state;
    let kept: Buffer[] | undefined;
    let from = 0; // start of the run of bytes being kept
    let at = 0;
    while (at < length) {
      if (state === STATUS) {
        // Empty lines before a status line, which undici's parser skips too.
        while (at < length && (bytes[at] === CR || bytes[at] === LF)) at++;
        if (at === length) break;
        const status = statusAt(bytes, at);
        if (status === TOO_SHORT_TO_TELL) {
          this.#held = Buffer.from(bytes.subarray(at));
          break;
        }
        if (status === 100) {
          if (at > from) (kept ??= []).push(bytes.subarray(from, at));
          from = at;
          state = CONTINUE;
        } else if (status > 101 && status < 200) {
          state = INTERIM;
        } else {
          // A final response, a 101 (after which the bytes are another protocol), or no HTTP at all.
          state = IDLE;
          break;
        }
        this.#atLineStart = this.#crAtLineStart = false;
        at += STATUS_LINE_START;
        continue;
      }
      const end = this.#endOfHead(bytes, at);
      if (end < 0) break;
      if (state === CONTINUE) from = end;
      state = STATUS;
      at = end;
    }
    this.#state = state;
    // Kept up to the end, but for held bytes or a 100 head still going on.
    const keptTo = this.#held ? length - this.#held.length : state === CONTINUE ? from : length;
    if (!kept && from === 0 && keptTo === length) return bytes;
    if (keptTo > from) (kept ??= []).push(bytes.subarray(from, keptTo));
    if (!kept) return null;
    return kept.length === 1 ? kept[0] : Buffer.concat(kept);
  }

  /** The index after the empty line that ends the head being scanned, or -1 when `bytes` ends first. */
  #endOfHead(bytes: Uint8Array, at: number): number {
    for (let i = at; i < bytes.length; i++) {
      const byte = bytes[i];
      if (byte === LF) {
        if (this.#atLineStart) return i + 1;
        this.#atLineStart = true;
        this.#crAtLineStart = false;
      } else if (byte === CR && this.#atLineStart && !this.#crAtLineStart) {
        this.#crAtLineStart = true;
      } else {
        this.#atLineStart = false;
        this.#crAtLineStart = false;
      }
    }
    return -1;
  }
}
