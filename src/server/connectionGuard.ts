import { Server as TlsServer } from 'node:tls';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerSettings } from '../core/config/serverSettings.ts';
import * as answers from '../core/answers.ts';
import { answerBytes } from './answerBytes.ts';
import { closeSoon, currentResponse } from './socketEnd.ts';

type Phase = 'head' | 'busy' | 'idle';

/** What is known of one client connection between two sweeps. */
interface Watch {
  phase: Phase;
  /** When the phase began: the connection's opening, a request's first byte seen, a response's end. */
  since: number;
  /** The socket's bytes read when the phase began. */
  readAtPhase: number;
  /** When bytes of a pipelined next request were first seen while the current one was answered. */
  nextHead?: number;
  /** Requests read and not yet answered (more than one when the client pipelines). */
  busy: Set<IncomingMessage>;
  bytesRead: number;
  lastRead: number;
  flushed: number;
  lastFlush: number;
}

/**
 * Bounds how long a client may hold a connection without doing its part, the same on every
 * runtime that serves through `node:http` (Node, and Deno's compatibility layer, whose server
 * honours none of Node's header or request timers):
 * - `client_header`: a request head not complete that long after its first byte (or after the
 *   connection opened) is answered 408 and the connection closed (slowloris);
 * - `client_idle`: a keep-alive connection with no request that long is closed;
 * - `client_body`: a request body the balancer is waiting for that pauses that long ends the
 *   connection, 408 if no response was started;
 * - `client_send`: a client that takes no more of its response for that long is cut off, which
 *   cancels the upstream request.
 * One sweep over the open connections runs every quarter of the shortest timeout (at most once a
 * second): progress is read from the socket's byte counters, so nothing is added per chunk.
 */
export class ConnectionGuard {
  readonly #watches = new Map<Socket, Watch>();
  /** Every open connection, upgraded ones included, for a stop that cannot wait any longer. */
  readonly #sockets = new Set<Socket>();
  #settings: ServerSettings;
  readonly #now: () => number;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  /** A listener that speaks HTTP/2 alone (h2c): nothing to time per exchange. */
  readonly #http2Only: boolean;

  constructor(server: Server, settings: ServerSettings, now: () => number = Date.now, http2Only = false) {
    this.#http2Only = http2Only;
    this.#settings = settings;
    this.#now = now;
    // On a TLS listener, the socket requests arrive on is the TLS one, ready once the handshake
    // is over (its own timeout, handshakeTimeout, covers the handshake).
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => this.#watch(socket));
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.#started(request, response));
    // An upgraded connection is a tunnel from then on, no longer HTTP: its pace is the application's.
    server.on('upgrade', (request: IncomingMessage) => this.#watches.delete(request.socket));
    this.update(settings);
  }

  /** Takes up a reloaded config's client timeouts, for every connection from the next sweep on. */
  update(settings: ServerSettings): void {
    this.#settings = settings;
    clearInterval(this.#sweeper);
    const { clientHeader, clientIdle, clientBody, clientSend } = settings;
    const tick = Math.max(25, Math.min(1000, Math.min(clientHeader, clientIdle, clientBody, clientSend) / 4));
    this.#sweeper = setInterval(() => this.sweep(), tick);
    this.#sweeper.unref?.();
  }

  /** Stops sweeping. */
  stop(): void {
    clearInterval(this.#sweeper);
  }

  /** Ends every connection at once, tunnels included. */
  closeAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Closes every connection that is waiting for its next request, or has opened and sent nothing yet. */
  closeIdle(): void {
    for (const [socket, watch] of this.#watches) {
      if (watch.phase === 'idle' || (watch.phase === 'head' && socket.bytesRead === watch.readAtPhase)) socket.destroy();
    }
  }

  /** One pass over the open connections; run by the timer, public for tests. */
  sweep(): void {
    const now = this.#now();
    const s = this.#settings;
    for (const [socket, watch] of this.#watches) {
      const read = socket.bytesRead;
      const flushed = socket.bytesWritten - socket.writableLength;
      const reading = read !== watch.bytesRead;
      if (reading) watch.lastRead = now;
      if (flushed !== watch.flushed || socket.writableLength === 0) watch.lastFlush = now;
      watch.bytesRead = read;
      watch.flushed = flushed;

      if (watch.phase === 'idle') {
        if (reading) this.#enter(watch, 'head', now, watch.readAtPhase);
        else if (now - watch.since >= s.clientIdle) socket.destroy();
      } else if (watch.phase === 'head') {
        // A connection that never sent a byte is closed without a word, as nginx does.
        if (now - watch.since >= s.clientHeader) refuse(socket, read > 0);
      } else {
        const busy = [...watch.busy];
        const waitingForBody = busy.some((request) => !request.complete && request.readableLength === 0);
        // A pause the backend causes (backpressure) is not the client's: the clock runs only while
        // the balancer waits for the client's bytes.
        if (!waitingForBody) watch.lastRead = now;
        // Bytes after every request in hand is complete are the next request's head, pipelined.
        if (reading && watch.nextHead === undefined && busy.every((request) => request.complete)) watch.nextHead = now;
        if (waitingForBody && now - watch.lastRead >= s.clientBody) refuse(socket, !startedResponse(socket));
        else if (now - watch.lastFlush >= s.clientSend) socket.destroy();
      }
    }
  }

  #watch(socket: Socket): void {
    // An HTTP/2 connection multiplexes its requests: the phases of one HTTP/1.1 exchange do not
    // apply, and node:http2's session timeout (client_idle) and the handshake timeout govern it.
    // It is still counted, for a stop that cannot wait.
    if (this.#http2Only || (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2') {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      return;
    }
    const now = this.#now();
    const read = socket.bytesRead;
    this.#watches.set(socket, { phase: 'head', since: now, readAtPhase: read, busy: new Set(), bytesRead: read, lastRead: now, flushed: 0, lastFlush: now });
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#watches.delete(socket);
      this.#sockets.delete(socket);
    });
  }

  #started(request: IncomingMessage, response: ServerResponse): void {
    const watch = this.#watches.get(request.socket as Socket);
    if (!watch) return;
    const socket = request.socket as Socket;
    watch.busy.add(request);
    watch.nextHead = undefined;
    this.#enter(watch, 'busy', this.#now(), socket.bytesRead);
    response.once('close', () => {
      watch.busy.delete(request);
      if (watch.busy.size > 0) return;
      // Counted from here, or from the sweep that saw the next request's first bytes arrive.
      const now = this.#now();
      watch.bytesRead = socket.bytesRead;
      if (watch.nextHead === undefined) this.#enter(watch, 'idle', now, socket.bytesRead);
      else this.#enter(watch, 'head', watch.nextHead, watch.readAtPhase);
      watch.nextHead = undefined;
    });
  }

  #enter(watch: Watch, phase: Phase, now: number, read: number): void {
    watch.phase = phase;
    watch.since = now;
    watch.readAtPhase = read;
    watch.lastRead = now;
    watch.lastFlush = now;
  }
}

/** Whether the socket's current response has begun (its status line is out). */
function startedResponse(socket: Socket): boolean {
  return currentResponse(socket)?.headersSent ?? false;
}

/** Ends a connection, with a 408 first when `answer` says one is due and it can still be given. */
function refuse(socket: Socket, answer: boolean): void {
  if (!answer || !socket.writable) return void socket.destroy();
  // A client that does not read even this is not waited for.
  closeSoon(socket, answerBytes(answers.requestTimeout()));
}
