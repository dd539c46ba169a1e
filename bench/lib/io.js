// Bytes a candidate handed to write system calls, from /proc/PID/io (`wchar`): sockets, pipes and
// /dev/null alike. The `oplog` scenario reads it to show that the access log really was written
// (the difference per request between log on and off is the log line), where its destination,
// /dev/null, keeps nothing to look at.
import { readFileSync } from 'node:fs';
import { groupPids } from './group.js';

/** Bytes written so far by every process of the group led by `pgid`, or null where /proc says nothing. */
export function readGroupWrittenBytes(pgid) {
  let total = null;
  for (const pid of groupPids(pgid)) {
    try {
      const match = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
      if (match) total = (total ?? 0) + Number(match[1]);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return total;
}
