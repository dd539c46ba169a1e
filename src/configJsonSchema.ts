import { toJsonSchema } from '@valibot/to-json-schema';
import { configSchema } from './core/config/schema/index.ts';

/**
 * The JSON Schema editors use to complete and check config files, generated from the valibot
 * schema the loader validates with, so the two cannot drift apart. Build-time only:
 * `npm run schema` writes it to schema/switchyard.schema.json, and a test compares that file
 * with a fresh generation from the sources.
 */
export function configJsonSchema(): object {
  return { title: 'Switchyard load balancer config', ...toJsonSchema(configSchema, { errorMode: 'ignore' }) };
}
