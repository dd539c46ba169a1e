import type { ConfigIssue } from '../core/config/ConfigError.ts';
import type { LoadedConfig } from '../core/config/loadConfig.ts';

/** One check of the files a config names, each problem at its field. */
export type FileCheck = (config: LoadedConfig) => readonly ConfigIssue[];

/**
 * The checks `check`, start-up and every reload run on the files a config names, which the core,
 * knowing no file system, cannot read.
 */
export function checkFilesWith(checks: readonly FileCheck[]): FileCheck {
  return (config) => checks.flatMap((check) => check(config));
}
