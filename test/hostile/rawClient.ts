import { connect } from 'node:net';

export interface RawResult {
  /** Everything the balancer sent, as latin-1 text. */
  readonly data: string;
  /** Whether the balancer closed the connection (rather than the test giving up on it). */
  readonly closed: boolean;
  /** Milliseconds from the first byte written to the close (or the give-up). */
  readonly elapsed: number;
  /** Bytes received in all (`data` keeps only the first 4 KiB of each chunk). */
  readonly received: number;
}

export interface RawOptions {
  /** Bytes written after the first, each after its delay in milliseconds. */
  readonly later?: readonly (readonly [number, string | Buffer])[];
  /**
   * Stop reading after the first chunk of the answer for this long (a client that no longer
   * reads), then read on: a paused socket cannot see its connection end.
   */
  readonly pauseMs?: number;
  /** Keep this side open after the balancer's end (a client that never closes): only the balancer's destroy ends it. */
  readonly halfOpen?: boolean;
  /** Give up (and destroy the socket) after this long. @default 5000 */
  readonly timeoutMs?: number;
}

/** Opens one connection to `url`, writes `bytes` (and any `later` ones), and collects the answer until the balancer closes it. */
export function rawExchange(url: string, bytes: string | Buffer, options: RawOptions = {}): Promise<RawResult> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: options.halfOpen ?? false });
    const timers: ReturnType<typeof setTimeout>[] = [];
    let data = '';
    let closed = true;
    let paused = false;
    let received = 0;
    timers.push(
      setTimeout(() => {
        closed = false;
        socket.destroy();
      }, options.timeoutMs ?? 5000),
    );
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      data += chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
      if (options.pauseMs !== undefined && !paused) {
        paused = true;
        socket.pause();
        timers.push(setTimeout(() => socket.resume(), options.pauseMs));
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ data, closed, elapsed: Date.now() - started, received });
    });
    socket.write(bytes);
    for (const [delay, more] of options.later ?? []) timers.push(setTimeout(() => socket.writable && socket.write(more), delay));
  });
}

/** The status code of the first response in `data`, or undefined. */
export function statusOf(data: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
  return match ? Number(match[1]) : undefined;
}
