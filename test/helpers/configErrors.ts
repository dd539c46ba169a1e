import { ConfigError } from '../../src/core/config/ConfigError.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';

/** The lines of the error a refused config gives; throws if the config loads. */
export function errorsOf(text: string, file = 'lb.yaml'): string[] {
  try {
    loadConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the config to be refused');
}
