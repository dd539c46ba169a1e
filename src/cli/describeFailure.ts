import { ConfigError } from '../core/config/ConfigError.ts';
import { CommandFailure } from './CommandFailure.ts';

/** One line for what stopped a command: no stack trace for the user's mistakes. */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof CommandFailure) return `switchyard: ${error.message}`;
  return `switchyard: ${error instanceof Error ? error.message : String(error)}`;
}
