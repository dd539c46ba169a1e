// A vitest setup file: records the configs the tests validate from the sources.
import { configSchema } from '../../src/core/config/schema/index.ts';
import { recordAcceptedConfigs } from './record.js';

recordAcceptedConfigs(configSchema);
