import { fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { jsonLine, textLine } from '../core/observe/accessLogLine.ts';
import type { RequestObserver, RequestRecord } from '../core/observe/RequestRecord.ts';

/** Past this many bytes waiting to be written, lines are dropped (and counted) rather than held. */
const MAX_PENDING = 16 * 1024 * 1024;

export interface AccessLogWriter {
  /** Writes one line for a request. */
  readonly observe: RequestObserver;
  /** Writes what is waiting, at once, before a process exits that cannot wait. */
  flush(): void;
  /** Writes what is waiting and resolves once it is written (2 s at most): a graceful stop. */
  close(): Promise<void>;
}

/**
 * The access log on standard output. The lines of one turn of the event loop are joined and
 * written once, after it: one write for many requests under load.
 * - A pipe or a socket (a supervisor, `| tee`, a log shipper) is written through a non-blocking
 *   stream of its own on the descriptor: a full pipe makes lines wait, never the event loop, and
 *   a reader more than 16 MiB behind loses lines, which the error log counts, rather than the
 *   balancer's memory growing without end. (Node's own `process.stdout` writes pipes
 *   synchronously, and an asynchronous `fs.write` costs a thread-pool hand-off per write.)
 * - A file or a terminal is written directly, as nginx writes its log files.
 * @param log where to say that lines were dropped, or cannot be written
 */
export function accessLogWriter(format: 'json' | 'text' | ((record: RequestRecord) => string), log: (line: string) => void, fd = 1): AccessLogWriter {
  const line = format === 'json' ? jsonLine : format === 'text' ? textLine : format;
  const sink = openSink(fd, log);
  let lines: string[] = [];
  let scheduled = false;
  let dropped = 0;

  const write = () => {
    scheduled = false;
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    const count = lines.length;
    lines = [];
    if (sink.pending() > MAX_PENDING) {
      if (dropped === 0) setTimeout(() => (log(`switchyard: the access log's reader is behind: ${dropped} lines dropped`), (dropped = 0)), 1000).unref?.();
      dropped += count;
      return;
    }
    sink.write(text);
  };

  return {
    observe: (record) => {
      lines.push(line(record));
      if (scheduled) return;
      scheduled = true;
      setImmediate(write);
    },
    flush: () => {
      write();
      sink.flushSync();
    },
    close: () => {
      write();
      return sink.close();
    },
  };
}

interface Sink {
  write(text: string): void;
  /** Bytes handed over and not yet written. */
  pending(): number;
  /** Writes what is pending before the process exits. */
  flushSync(): void;
  /** Resolves once what is pending is written, or after 2 s. */
  close(): Promise<void>;
}

function openSink(fd: number, log: (line: string) => void): Sink {
  const stat = fstatSync(fd);
  if (stat.isFIFO() || stat.isSocket()) {
    const stream = new Socket({ fd, readable: false, writable: true });
    stream.on('error', (error) => log(`switchyard: the access log cannot be written: ${error.message}`));
    // Not a reason to stay alive: the process ends when the balancer has stopped.
    stream.unref();
    return {
      write: (text) => void stream.write(text),
      pending: () => stream.writableLength,
      flushSync: () => {
        // What the stream still holds goes out synchronously; a reader that has gone loses it.
        const held = (stream as Socket & { writableBuffer?: { chunk: string | Buffer }[] }).writableBuffer ?? [];
        try {
          for (const { chunk } of held) writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        } catch {
          // Nobody is reading any more.
        }
      },
      close: () =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 2000);
          timer.unref?.();
          stream.end(() => (clearTimeout(timer), resolve()));
        }),
    };
  }
  let failed = false;
  return {
    write: (text) => {
      try {
        writeSync(fd, text);
      } catch (error) {
        if (!failed) log(`switchyard: the access log cannot be written: ${(error as Error).message}`);
        failed = true;
      }
    },
    pending: () => 0,
    flushSync: () => {},
    close: async () => {},
  };
}
