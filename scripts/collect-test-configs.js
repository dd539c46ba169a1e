// `node scripts/collect-test-configs.js [vitest filters...]` (after `npm run build`): runs the test
// suite and records every config it validates (in the tests' own process and in the balancers
// they start from the build), keeps those `switchyard check` accepts, and writes them to
// test/unit/testConfigs.json, the corpus the JSON Schema must accept (test/unit/jsonSchemaRules.test.ts).
// Run it again when tests gain configs; the corpus only grows unless a config stops being valid.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startVitest } from 'vitest/node';
import { loadConfig } from '../dist/core/config/loadConfig.js';

const recording = join(mkdtempSync(join(tmpdir(), 'switchyard-configs-')), 'configs.jsonl');
writeFileSync(recording, '');
process.env.SWITCHYARD_RECORD_CONFIGS = recording;
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${new URL('./test-configs/recordInNode.js', import.meta.url)}`.trim();

const vitest = await startVitest('test', process.argv.slice(2), {
  run: true,
  watch: false,
  setupFiles: [fileURLToPath(new URL('./test-configs/recordInVitest.js', import.meta.url))],
});
await vitest?.close();

const corpusFile = new URL('../test/unit/testConfigs.json', import.meta.url);
const known = JSON.parse(readFileSync(corpusFile, { encoding: 'utf8', flag: 'a+' }) || '[]');
const recorded = readFileSync(recording, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const unique = new Map([...known, ...recorded].map((config) => [JSON.stringify(config), config]));
const valid = [...unique.values()].filter((config) => {
  try {
    loadConfig(JSON.stringify(config));
    return true;
  } catch {
    return false;
  }
});
valid.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
writeFileSync(corpusFile, JSON.stringify(valid, null, 1) + '\n');
console.log(`${valid.length} valid configs (of ${unique.size} recorded) in test/unit/testConfigs.json`);
process.exit(0);
