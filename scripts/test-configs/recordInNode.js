// node --import: records the configs the built CLI validates (the end-to-end tests' balancers).
import { configSchema } from '../../dist/core/config/schema/index.js';
import { recordAcceptedConfigs } from './record.js';

recordAcceptedConfigs(configSchema);
