// `npm run schema` (after the build): writes schema/switchyard.schema.json and the key index of
// docs/configuration.md from the built config schema. test/unit/jsonSchema.test.ts generates both
// from the sources and fails while either committed file differs.
import { readFile, writeFile } from 'node:fs/promises';
import { configSchema } from '../dist/core/config/schema/index.js';
import { configJsonSchema, describedJsonSchema } from './configJsonSchema.js';
import { configKeyIndex, withKeyIndex } from './configKeyIndex.js';

const schemaFile = new URL('../schema/switchyard.schema.json', import.meta.url);
await writeFile(schemaFile, JSON.stringify(configJsonSchema(configSchema), null, 2) + '\n');

const docsFile = new URL('../docs/configuration.md', import.meta.url);
const page = await readFile(docsFile, 'utf8');
await writeFile(docsFile, withKeyIndex(page, configKeyIndex(describedJsonSchema(configSchema))));
