/**
 * A body stream that can say by itself when it is over. An upstream client whose bodies come from
 * somewhere it can watch (undici's socket stream on Node and Deno) marks each body with a way to
 * subscribe; code that must know when a body ends (in-flight counting) then subscribes instead of
 * wrapping the stream in another one, which costs a stream construction per request. Streams
 * without the mark get wrapped.
 */
const SETTLED: unique symbol = Symbol.for('switchyard.bodySettled');

/**
 * Told once, when the body is over: delivered to its end or abandoned by the reader (no
 * argument), or failed at its source (the error).
 */
export type SettledListener = (sourceError?: unknown) => void;

type Marked = ReadableStream<Uint8Array> & { [SETTLED]?: (listener: SettledListener) => void };

/** Marks `stream` with the way to subscribe to its end; returns `stream`. */
export function markSettled(stream: ReadableStream<Uint8Array>, subscribe: (listener: SettledListener) => void): ReadableStream<Uint8Array> {
  (stream as Marked)[SETTLED] = subscribe;
  return stream;
}

/** Subscribes to the end of a marked stream; returns false, subscribing nothing, for an unmarked one. */
export function onSettled(stream: ReadableStream<Uint8Array>, listener: SettledListener): boolean {
  const subscribe = (stream as Marked)[SETTLED];
  if (!subscribe) return false;
  subscribe(listener);
  return true;
}
