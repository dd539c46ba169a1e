// The processes of a candidate's process group, read from /proc. A candidate is more than its
// leader: `deno task` runs the server as its child, nginx has a master and a worker. Each child
// the harness starts leads its own group (lib/children.js), so the group is the candidate. Linux
// only: elsewhere the group looks empty and the scenario reports n/a.
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat after the command name, which may hold spaces and parentheses. */
export function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Pids whose process group is `pgid` (the group leader's pid). */
export function groupPids(pgid) {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  // Fields after the name: state ppid pgrp ...
  return entries.filter((name) => /^\d+$/.test(name) && Number(statFields(name)?.[2]) === pgid).map(Number);
}

/** CPU ticks (user + system) each of `pids` has used so far, by pid; those gone are left out. */
export function ticksByPid(pids) {
  const ticks = new Map();
  for (const pid of pids) {
    const fields = statFields(pid);
    if (fields) ticks.set(pid, Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}
