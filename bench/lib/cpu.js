// CPU time a candidate spent, user and system, from /proc/PID/stat: the cost of a request measured
// where it is paid, not inferred from throughput (which the load generator and the backends share).
import { execFileSync } from 'node:child_process';
import { groupPids, statFields } from './group.js';

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // USER_HZ on every Linux this runs on
    }
  }
  return ticksPerSecond;
}

/**
 * Seconds of CPU the process group led by `pgid` has used so far (every thread of every process
 * alive now), or null where /proc is not there. Resolution is one clock tick, 10 ms.
 */
export function readGroupCpuSeconds(pgid) {
  const pids = groupPids(pgid);
  if (pids.length === 0) return null;
  let ticks = 0;
  for (const pid of pids) {
    // Fields after the name, from 0: state ... utime is the 12th, stime the 13th (proc(5)).
    const fields = statFields(pid);
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / clockTicks();
}
