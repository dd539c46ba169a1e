import { compileConfig, type CompiledConfig, type CompileOptions } from './compileConfig.ts';
import { ConfigError } from './ConfigError.ts';
import { ConfigProblem } from './ConfigProblem.ts';
import { formatPath, readConfig } from './parseConfig.ts';
import type { Config } from './schema/index.ts';

export interface LoadedConfig extends CompiledConfig {
  readonly config: Config;
}

/**
 * Parses, validates and compiles config text in one step, as every entry point does at start-up.
 * Throws a `ConfigError` whose issues name the file, line, column and field.
 * @param fileName used in error messages only
 */
export function loadConfig(text: string, fileName = 'config', options?: CompileOptions): LoadedConfig {
  const source = readConfig(text, fileName);
  try {
    return { config: source.config, ...compileConfig(source.config, options) };
  } catch (error) {
    if (!(error instanceof ConfigProblem)) throw error;
    const { line, column } = source.locate(error.path);
    throw new ConfigError([{ file: fileName, line, column, path: formatPath(error.path), message: error.message }], { cause: error });
  }
}
