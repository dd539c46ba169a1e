/**
 * Lets a runtime adapter look through body wrappers. A stream that only observes another one (to
 * count a backend in flight until the body ends, say) records what it wraps and what it must be
 * told; an adapter that can move the bytes faster than a web stream (Node piping a socket into a
 * socket) may then skip the wrappers, provided it reports the end or the failure as they would.
 * Runtimes that know nothing of it read the outer stream as usual, and nothing changes.
 */
export const BODY_TAP: unique symbol = Symbol.for('switchyard.bodyTap');

export interface BodyTap {
  /** The stream this one wraps. */
  readonly inner: ReadableStream<Uint8Array>;
  /** Called once when the body is over: delivered to its end, abandoned by the client, or failed. */
  done(): void;
  /** Called before `done` when the source failed mid-body. */
  failed(error: unknown): void;
}

type Tapped = ReadableStream<Uint8Array> & { [BODY_TAP]?: BodyTap };

/** Marks `outer` as an observer of `tap.inner`; returns `outer`. */
export function setBodyTap(outer: ReadableStream<Uint8Array>, tap: BodyTap): ReadableStream<Uint8Array> {
  (outer as Tapped)[BODY_TAP] = tap;
  return outer;
}

/** The tap recorded on a stream, if any. */
export function getBodyTap(stream: ReadableStream<Uint8Array>): BodyTap | undefined {
  return (stream as Tapped)[BODY_TAP];
}
