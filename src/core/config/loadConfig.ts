import { compileConfig, type CompiledConfig, type CompileOptions } from './compileConfig.ts';
import { ConfigError, inFileOrder, type ConfigIssue } from './ConfigError.ts';
import { ConfigProblems } from '../compile/ConfigProblems.ts';
import { formatPath, readConfig, type ReadOptions } from './parseConfig.ts';
import type { Config } from './schema/index.ts';
import type { RateLimitStore } from '../RateLimitStore.ts';

export interface LoadedConfig extends CompiledConfig {
  readonly config: Config;
  /** The file name it was loaded as: files it names (certificates, keys) are relative to its directory. */
  readonly file: string;
  /**
   * What the config allows but likely does not mean (a `path_reject` entry its route never sees),
   * in file order: `switchyard check` prints them, `serve` logs them at start-up.
   */
  readonly warnings: readonly ConfigIssue[];
  /**
   * An issue at a field of this file, for checks made outside the core (a certificate file that
   * cannot be read): it names the file, line and column as every other config error does.
   */
  issueAt(path: readonly (string | number)[], message: string, severity?: 'error' | 'warning'): ConfigIssue;
}

/** How config text is read (`env`, for `${env:NAME}`) and compiled. */
export interface LoadOptions extends ReadOptions, CompileOptions {
  /**
   * The shared store for the config just read (its `store`), when the caller keeps one
   * (src/store/SharedStores.ts): asked after validation, before compiling; wins over `rateLimitStore`.
   */
  readonly storeFor?: (config: Config) => RateLimitStore | undefined;
}

/**
 * Parses, validates and compiles config text in one step, as every entry point does at start-up.
 * Throws a `ConfigError` whose issues name the file, line, column and field: every schema error
 * and unset `${env:NAME}`, else every compile error (with the warnings found alongside), in file
 * order.
 * @param fileName used in error messages only
 * @example loadConfig(text, 'lb.yaml', { env: (name) => process.env[name] })
 */
export function loadConfig(text: string, fileName = 'config', options?: LoadOptions): LoadedConfig {
  const source = readConfig(text, fileName, options);
  const problems = new ConfigProblems();
  const rateLimitStore = options?.storeFor ? options.storeFor(source.config) : options?.rateLimitStore;
  const compiled = compileConfig(source.config, problems, { configFile: fileName, ...options, rateLimitStore });
  const issues = inFileOrder(
    problems.found.map((problem): ConfigIssue => {
      const { line, column } = source.locate(problem.path);
      return { file: fileName, line, column, path: formatPath(problem.path), message: problem.message, severity: problem.severity };
    }),
  );
  if (!compiled) throw new ConfigError(issues);
  const issueAt = (path: readonly (string | number)[], message: string, severity?: 'error' | 'warning'): ConfigIssue => {
    const { line, column } = source.locate(path);
    return { file: fileName, line, column, path: formatPath(path), message, severity };
  };
  return { config: source.config, file: fileName, ...compiled, warnings: issues, issueAt };
}
