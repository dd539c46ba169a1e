import sonicBoom from 'sonic-boom';
import type { SonicBoom as SonicBoomClass } from 'sonic-boom';
import { jsonLine, textLine } from '../core/observe/accessLogLine.ts';
import type { RequestObserver } from '../core/observe/RequestRecord.ts';

/** Past this many bytes waiting to be written, lines are dropped (and counted) rather than held. */
const MAX_PENDING = 16 * 1024 * 1024;

export interface AccessLogWriter {
  /** Writes one line for a request. */
  readonly observe: RequestObserver;
  /** Writes what is waiting, at once, before the process exits. */
  flush(): void;
}

/**
 * The access log on standard output. Lines are written by sonic-boom (pino's writer): each write
 * is handed to the file descriptor asynchronously, lines that arrive meanwhile wait in one buffer
 * and go out together, and a full pipe (EAGAIN) is retried later, so a slow reader of the log
 * never blocks the event loop. A reader that stays behind by more than 16 MiB loses lines, and
 * the error log says how many, instead of the balancer's memory growing without end.
 * @param log where to say that lines were dropped
 */
export function accessLogWriter(format: 'json' | 'text', log: (line: string) => void, fd = 1): AccessLogWriter {
  const line = format === 'json' ? jsonLine : textLine;
  // The package is CommonJS whose export is the class itself, while its types declare it named.
  const SonicBoom = sonicBoom as unknown as typeof SonicBoomClass;
  const out = new SonicBoom({ fd, sync: false, minLength: 0, maxLength: MAX_PENDING });
  let dropped = 0;
  out.on('drop', () => {
    if (dropped++ === 0) setTimeout(() => (log(`switchyard: the access log's reader is behind: ${dropped} lines dropped`), (dropped = 0)), 1000).unref?.();
  });
  out.on('error', (error: Error) => log(`switchyard: the access log cannot be written: ${error.message}`));
  return {
    observe: (record) => void out.write(`${line(record)}\n`),
    flush: () => {
      try {
        out.flushSync();
      } catch {
        // Nothing was waiting, or standard output is gone: nothing more can be done at exit.
      }
    },
  };
}
