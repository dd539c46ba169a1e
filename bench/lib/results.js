// bench/results/latest.json holds the last result of every scenario; running one scenario
// replaces only its own entry. Files are written to *.tmp (git-ignored) and renamed, so an
// interrupted run never leaves a half-written result behind.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir } from './paths.js';

export function writeResultFile(name, text) {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, name);
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
  return path;
}

export function saveScenarioResult(scenario, result, machine) {
  const path = join(resultsDir, 'latest.json');
  let all = {};
  if (existsSync(path)) {
    try {
      all = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      all = {};
    }
  }
  all.machine = machine;
  // The load average at start differs from run to run: each scenario keeps the one it ran under.
  all.scenarios = { ...(all.scenarios ?? {}), [scenario]: { finishedAt: new Date().toISOString(), loadAverageAtStart: machine.loadAverageAtStart, ...result } };
  return writeResultFile('latest.json', `${JSON.stringify(all, null, 2)}\n`);
}
