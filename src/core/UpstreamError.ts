/**
 * Why an upstream exchange failed, which decides the balancer's answer and whether to retry:
 * a `connect` failure never reached the backend (any method may be retried; when every backend
 * fails so, 503), a `timeout` is 504, anything else `failed`, 502.
 */
export type UpstreamFailure =
  /** The connection was refused or could not be opened: the request never reached the backend. */
  | 'connect'
  /** A time limit passed (connect, or response headers). */
  | 'timeout'
  /** Anything else: reset mid-request, a malformed response, a TLS handshake refused. The backend may have seen the request. */
  | 'failed';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly failure: UpstreamFailure;

  constructor(failure: UpstreamFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
  }
}

/**
 * Error codes of a connection that could not be opened, as Node, undici and Deno's Node
 * compatibility set them: refused, no such host (or not yet: `EAI_AGAIN`), no route, no local
 * address to connect from.
 */
const CONNECT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'];

/** The same failures where a runtime's `fetch` says them only in words (Deno: `tcp connect error: Connection refused`, `dns error`). */
const CONNECT_TEXT = new RegExp(`\\b(?:${CONNECT_CODES.join('|')})\\b|connection refused|connect error|dns error`, 'i');

/** Codes of a TLS handshake the balancer refused (a self-signed, expired or misnamed certificate) or could not complete. */
const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;

/**
 * A runtime's error from an upstream exchange that got no response, as an `UpstreamError`: a
 * `connect` failure when the connection was never opened, else `failed`. Its message is the
 * error's causes on one line (`describeError`). Timeouts are told apart by the client that set
 * them; an `UpstreamError` is returned as it is.
 */
export function upstreamErrorOf(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const message = describeError(error);
  const codes = causesOf(error).map((cause) => cause.code);
  const connect = codes.some((code) => typeof code === 'string' && CONNECT_CODES.includes(code)) || CONNECT_TEXT.test(message);
  return new UpstreamError(connect ? 'connect' : 'failed', message, { cause: error });
}

/**
 * An error and its causes on one line, outermost first, each told once, TLS failures marked as
 * such: `connect ECONNREFUSED 127.0.0.1:9081`, `fetch failed: tls: self-signed certificate
 * (DEPTH_ZERO_SELF_SIGNED_CERT)`.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (const cause of causesOf(error)) {
    let text = typeof cause.message === 'string' ? cause.message.split('\n')[0].trim() : '';
    // OpenSSL's own text buries its reason among internals (`80AC...:error:0A00045C:SSL
    // routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/...`); Node gives the reason alone too.
    if (typeof cause.reason === 'string' && /^[0-9A-F]+:error:/.test(text)) text = cause.reason;
    const code = typeof cause.code === 'string' ? cause.code : undefined;
    // undici's own codes (UND_ERR_*) say no more than their messages.
    if (code && !code.startsWith('UND_ERR') && !text.includes(code)) text = text ? `${text} (${code})` : code;
    if (code && TLS_CODE.test(code)) text = `tls: ${text}`;
    if (text && !parts.some((part) => part.includes(text))) parts.push(text);
  }
  return parts.join(': ') || String(error);
}

type Cause = { readonly message?: unknown; readonly code?: unknown; readonly reason?: unknown; readonly cause?: unknown };

/** The error and the causes it wraps, at most four deep. */
function causesOf(error: unknown): Cause[] {
  const chain: Cause[] = [];
  for (let cause = error; cause !== null && typeof cause === 'object' && chain.length < 4; cause = (cause as Cause).cause) chain.push(cause as Cause);
  return chain;
}
