import type { HeaderFields } from './http/HeaderFields.ts';

/** Time limits for one upstream exchange, in milliseconds. */
export interface Timeouts {
  /** Opening the connection to the backend. */
  readonly connect: number;
  /** From sending the request to receiving the response headers. */
  readonly responseHeaders: number;
  /** Longest pause between two chunks of the response body. */
  readonly bodyIdle: number;
}

/** Defaults, as documented in the README: generous enough for slow apps, short enough to fail over. */
export const DEFAULT_TIMEOUTS: Timeouts = { connect: 5_000, responseHeaders: 60_000, bodyIdle: 60_000 };

/**
 * What a runtime's exchanges are made of: its body type and its way of saying the client went
 * away. The core passes both through without looking inside, so Node can forward its own streams
 * (no web stream, no `AbortController` per request) while Deno and Workers use web ones.
 */
export interface Wire {
  readonly body: unknown;
  readonly signal: { readonly aborted: boolean };
}

/**
 * The Web platform's wire: web streams and an `AbortSignal`. A response body that had fully
 * arrived with its headers may come as bytes, which every runtime sends faster than a stream.
 */
export interface WebWire extends Wire {
  readonly body: ReadableStream<Uint8Array> | Uint8Array;
  readonly signal: AbortSignal;
}

/**
 * How the balancer speaks TLS to an `https://` backend (a pool's `tls`). Files are named as the
 * runtime opens them (the config took relative names from its own directory); the upstream
 * client reads them.
 */
export interface UpstreamTls {
  /** The name checked in the backend's certificate, and sent as SNI unless it is an IP address (RFC 6066 section 3). */
  readonly servername: string;
  /** False accepts any certificate, unchecked (`verify: false`). */
  readonly verify: boolean;
  /** A PEM file of the CA certificates trusted for the backend's, instead of the runtime's own. */
  readonly ca?: string;
  /** A PEM client certificate (chain), presented when the backend asks for one (mTLS); always with `key`. */
  readonly cert?: string;
  /** The PEM private key of `cert`. */
  readonly key?: string;
}

/**
 * How the balancer speaks to a backend (a pool's `protocol`): HTTP/1.1, HTTP/2 over TLS (ALPN
 * `h2`, `https://` servers), or cleartext HTTP/2 with prior knowledge (`h2c`, `http://` servers).
 */
export type UpstreamProtocol = 'http1' | 'http2' | 'h2c';

/**
 * A message's trailer fields, read once its body has ended (RFC 9110 section 6.5): undefined
 * when none came (or the body has not ended yet).
 */
export type Trailers = () => HeaderFields | undefined;

/** The request the balancer sends to one backend. */
export interface UpstreamRequest<W extends Wire = WebWire> {
  /** The backend's origin, `http://host:port`. */
  readonly origin: string;
  /** What follows the origin: the backend's base path, the normalised path, the raw query. */
  readonly target: string;
  readonly method: string;
  /**
   * Headers to send, hop-by-hop ones already removed. A `host` entry is sent as the Host header
   * where the runtime allows it; without one, the backend's own host:port is sent.
   */
  readonly headers: HeaderFields;
  readonly body: W['body'] | null;
  /** Tells when the client goes away: the upstream exchange must stop. */
  readonly signal: W['signal'];
  readonly timeouts: Timeouts;
  /** For an `https://` origin: the name to verify, what to trust and what to present; undefined leaves them to the client. */
  readonly tls?: UpstreamTls;
  /** How to speak to the backend; undefined is `http1`. A client that speaks only some says so in its docs. */
  readonly protocol?: UpstreamProtocol;
}

/** A backend's response as an upstream client hands it over, body unread and still streaming. */
export interface UpstreamResponse<W extends Wire = WebWire> {
  readonly status: number;
  /** The caller's to change in place (hop-by-hop removal, response rules). */
  readonly headers: HeaderFields;
  /** Null where the status or the method allows no body. */
  readonly body: W['body'] | null;
  /**
   * On a 101, the upgraded connection where the runtime does not hand it over as the body (workerd:
   * the fetch `Response` carrying its `webSocket`), for the entry point to join to the client's.
   */
  readonly tunnel?: unknown;
  /** The backend's trailer fields, where the client carries them (HTTP/2, chunked HTTP/1.1); read once the body has ended. */
  readonly trailers?: Trailers;
}

/**
 * Sends a request to a backend and resolves with its response, body unread and still streaming.
 * Redirects are returned, never followed; compressed bodies are returned as sent. Rejects with an
 * `UpstreamError` when no response headers arrive, or when the status is not one a client may be
 * sent (outside 200-599: informational answers are the client's, not the backend's).
 */
export type Upstream<W extends Wire = WebWire> = (request: UpstreamRequest<W>) => Promise<UpstreamResponse<W>>;

/** What the core does to bodies, done each runtime's way. */
export interface BodyHandling<W extends Wire = WebWire> {
  /**
   * Reads a request body of at most `limit` bytes ahead, so a retry can send it again. A longer
   * body (the declared length lied) comes back as a body to send once. Rejects when the client's
   * upload breaks off.
   */
  readAhead(body: W['body'], limit: number): Promise<{ replay(): W['body']; readonly replayable: boolean }>;
  /**
   * Returns the response body (or an equivalent) made to call `done` exactly once, when it has
   * been delivered, failed or been abandoned; `onError` hears a failure at its source first.
   */
  track(body: W['body'], done: () => void, onError: (error: unknown) => void): W['body'];
  /** Throws an unwanted response body away, so its connection can be reused or closed. */
  discard(body: W['body']): void;
  /** How the runtime compresses a response body for the client (`compress`). */
  readonly compression: BodyCompression<W>;
  /**
   * Returns the request body made to fail once more than `bytes` of it have passed (`max_request_body`
   * on a body of unknown length): `exceeded` is called first, then the body errors, which aborts the
   * upload to the backend. It may fail before anyone reads it (a first chunk over the limit while
   * the backend is still being connected to, or never is): that must not be an unheard error, and
   * `forward` reads `exceeded` rather than the reader's error. The client's connection is left able
   * to carry the 413: Node's request stream is not destroyed (its connection would go with it) but
   * read and dropped; a web stream is cancelled, which its runtime's server answers all the same.
   */
  limit(body: W['body'], bytes: number, exceeded: () => void): W['body'];
}

/** A content coding the balancer compresses responses with (RFC 9110 section 8.4.1). */
export type ContentCoding = 'br' | 'gzip';

/** A runtime's way of compressing response bodies, and what it can and cannot do. */
export interface BodyCompression<W extends Wire = WebWire> {
  /** The codings it produces; a runtime without `br` falls back to `gzip`. */
  readonly codings: ReadonlySet<ContentCoding>;
  /**
   * Whether each chunk of a streamed body reaches the client compressed as soon as it arrives (a
   * flush per chunk). Where it does not, a body of unknown length (server-sent events, a chunked
   * stream) is left uncompressed rather than held back.
   */
  readonly flushesEachChunk: boolean;
  /**
   * The body compressed with `coding`, still streaming, with its source's backpressure; a body
   * that fails or is abandoned fails or abandons its source.
   */
  compress(body: W['body'], coding: ContentCoding): W['body'];
}

/** How a runtime runs work that outlives the client's exchange (a mirrored copy). */
export interface Background<W extends Wire = WebWire> {
  /** A signal for an exchange no client waits on: it never fires. A new one per exchange. */
  detachedSignal(): W['signal'];
  /** Keeps `task` alive after the response is sent (a Worker's `waitUntil`); elsewhere it simply runs. */
  run(task: Promise<unknown>): void;
}
