// Starting a scenario's candidates one after another (never in parallel: on two cores a
// concurrent start could push a slow one past its timeout) and turning any failure into a
// "skipped" entry with the reason, so one broken candidate never stops the others.
import { waitUntilServing } from './net.js';
import { stopChild } from './children.js';

/**
 * @param {Array<{ name: string, path?: string, headers?: object, start: () => Promise<{ record, url, pid }> }>} definitions
 *   other fields are copied onto the entry
 * @returns {Promise<Array<{ name, path, headers, ok: boolean, note?: string, url?, pid?, stop }>>}
 */
export async function startLineup(definitions, { timeoutMs, log = console.error }) {
  const only = (process.env.BENCH_CANDIDATES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const lineup = [];
  for (const { start, ...definition } of definitions) {
    // Candidates left out with BENCH_CANDIDATES are left out of the tables too.
    if (only.length && !only.includes(definition.name)) continue;
    const entry = { path: '/', headers: {}, ...definition, ok: false, stop: async () => {} };
    lineup.push(entry);
    const started = Date.now();
    let running;
    try {
      running = await withTimeout(start(), timeoutMs, `start took longer than ${timeoutMs / 1000} s`);
      Object.assign(entry, { url: running.url, pid: running.pid, stop: running.record ? () => stopChild(running.record) : async () => {} });
      // Listening is not serving: a balancer may still be probing its backends.
      await waitUntilServing(entry.url + entry.path, { headers: entry.headers, timeoutMs });
      entry.ok = true;
      // Spawn to first 2xx: includes loading the config, and up to 100 ms of polling slack.
      entry.readyMs = Date.now() - started;
      log(`  started ${entry.name} at ${entry.url} (${entry.readyMs} ms)`);
    } catch (error) {
      entry.note = `skipped: ${error.message}`;
      log(`  ${entry.name} ${entry.note}`);
      await entry.stop();
    }
  }
  return lineup;
}

export async function stopLineup(lineup) {
  await Promise.all(lineup.map((entry) => entry.stop()));
}

function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
