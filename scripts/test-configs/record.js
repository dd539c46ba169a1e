import { appendFileSync } from 'node:fs';

/**
 * Wraps a config schema so that every input it accepts is appended, as one JSON line, to the file
 * named by SWITCHYARD_RECORD_CONFIGS. Used only by scripts/collect-test-configs.js.
 * @param {any} configSchema
 */
export function recordAcceptedConfigs(configSchema) {
  const file = process.env.SWITCHYARD_RECORD_CONFIGS;
  if (!file || configSchema.recorded) return;
  const run = configSchema['~run'];
  configSchema.recorded = true;
  configSchema['~run'] = function (/** @type {any} */ dataset, /** @type {any} */ config) {
    const input = JSON.stringify(dataset.value);
    const result = run.call(this, dataset, config);
    if (!result.issues && input !== undefined) appendFileSync(file, input + '\n');
    return result;
  };
}
