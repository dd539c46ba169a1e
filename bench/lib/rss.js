// Samples a process's resident memory from /proc/PID/status (VmRSS) on a timer. Linux only:
// elsewhere `start` returns a sampler that reports null, and the scenario says so.
import { readFileSync } from 'node:fs';
import { groupPids } from './group.js';

export function readRssBytes(pid) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Resident memory of the whole process group led by `pgid` (lib/group.js says why a group), or
 * null where /proc is not there.
 */
export function readGroupRssBytes(pgid) {
  const sizes = groupPids(pgid).map(readRssBytes).filter((rss) => rss != null);
  return sizes.length ? sizes.reduce((a, b) => a + b, 0) : null;
}

/** Starts sampling every `intervalMs`; `stop()` returns { baseline, peak, samples } in bytes. */
export function sampleRss(pid, intervalMs = 100) {
  const baseline = readRssBytes(pid);
  let peak = baseline;
  let samples = baseline == null ? 0 : 1;
  const timer = setInterval(() => {
    const rss = readRssBytes(pid);
    if (rss == null) return;
    samples += 1;
    if (peak == null || rss > peak) peak = rss;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const last = readRssBytes(pid);
      if (last != null && (peak == null || last > peak)) peak = last;
      return { baseline, peak, samples };
    },
  };
}
