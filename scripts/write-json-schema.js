// Writes schema/switchyard.schema.json, the JSON Schema editors use to complete and check config
// files, from the same valibot schema the loader validates with (so the two cannot drift apart).
// Runs after `tsc` as part of `npm run build`; `--check` only compares and fails when stale.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { toJsonSchema } from '@valibot/to-json-schema';
import { configSchema } from '../dist/core/config/schema/index.js';

const target = new URL('../schema/switchyard.schema.json', import.meta.url);
const schema = {
  title: 'Switchyard load balancer config',
  ...toJsonSchema(configSchema, { errorMode: 'ignore' }),
};
const text = JSON.stringify(schema, null, 2) + '\n';

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error('schema/switchyard.schema.json is stale: run npm run build');
    process.exit(1);
  }
} else {
  await mkdir(new URL('.', target), { recursive: true });
  await writeFile(target, text);
}
