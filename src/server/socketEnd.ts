import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Ends a connection the server no longer manages (an upgrade's, a refused one's): its writing side
 * now, the whole of it a second later if the client keeps its side open.
 */
export function closeSoon(socket: Duplex, last?: Uint8Array): void {
  socket.end(last);
  setTimeout(() => socket.destroy(), 1000).unref?.();
}

/**
 * The response node:http is writing on this connection, if any (its own bookkeeping: node:http
 * and Deno's compatibility layer both keep it on the socket).
 */
export function currentResponse(socket: Duplex): ServerResponse | undefined {
  return (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/**
 * Resolves once the response the server is still writing on this connection (if any) has ended,
 * so an answer to a request the client pipelined after it never overtakes it.
 */
export function afterPendingResponse(socket: Duplex): Promise<void> {
  const pending = currentResponse(socket);
  if (!pending || pending.writableFinished || pending.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    pending.once('finish', resolve);
    pending.once('close', resolve);
  });
}
