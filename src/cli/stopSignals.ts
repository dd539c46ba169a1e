import process from 'node:process';
import { stopWithNpm } from './stopWithNpm.ts';

/** How long in-flight requests may take to finish after SIGTERM or SIGINT. */
export const DRAIN_MS = 30_000;

/**
 * Resolves on the first SIGTERM or SIGINT (or when npm, which started the process, has gone): the
 * caller drains. The handlers stay for the whole drain: a second signal within a second is the
 * same Ctrl-C reaching the process twice (deno task passes it on to its process group), a later
 * one means "now": it is logged and `cutOff` runs, which ends the process.
 */
export function stopSignals(log: (line: string) => void, cutOff: () => void): Promise<void> {
  let stopping = 0;
  return new Promise<void>((resolve) => {
    const stop = () => {
      const now = Date.now();
      if (stopping === 0) {
        stopping = now;
        unwatch();
        return resolve();
      }
      if (now - stopping < 1000) return;
      log('switchyard: stopping again: in-flight requests are cut off');
      cutOff();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    const unwatch = stopWithNpm(() => (log('switchyard: npm, which started this process, has gone: stopping as on SIGTERM'), stop()));
  });
}
