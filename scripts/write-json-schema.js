// `npm run schema`: writes schema/switchyard.schema.json from the built sources (see
// src/configJsonSchema.ts). test/unit/jsonSchema.test.ts fails while the committed file is stale.
import { writeFile, mkdir } from 'node:fs/promises';
import { configJsonSchema } from '../dist/configJsonSchema.js';

const target = new URL('../schema/switchyard.schema.json', import.meta.url);
await mkdir(new URL('.', target), { recursive: true });
await writeFile(target, JSON.stringify(configJsonSchema(), null, 2) + '\n');
