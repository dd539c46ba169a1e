// Starts servers/backends.js and talks to it: its two ports, and its request counters over IPC.
import { join } from 'node:path';
import { startChild, waitForOutput, stopChild } from './children.js';
import { serversDir } from './paths.js';

export async function startBackends({ timeoutMs = 10_000 } = {}) {
  const record = startChild(process.execPath, [join(serversDir, 'backends.js')], { name: 'backends', ipc: true });
  const [, a, b] = await waitForOutput(record, /backends (\d+) (\d+)/, timeoutMs);
  const servers = [`127.0.0.1:${a}`, `127.0.0.1:${b}`];
  return {
    record,
    servers,
    pid: record.child.pid,
    /** { requests, healthchecks } served so far by both backends together. */
    stats() {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('backends did not answer stats')), 2000);
        record.child.once('message', (message) => { clearTimeout(timer); resolve(message); });
        record.child.send('stats');
      });
    },
    stop: () => stopChild(record),
  };
}
