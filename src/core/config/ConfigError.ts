import type { Severity } from '../compile/ConfigProblem.ts';

/** One problem found in a config file, with where it is. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Field path such as `hosts[1].servers[0]`; empty for the document itself. */
  path: string;
  message: string;
  /** @default 'error' */
  severity?: Severity;
}

/**
 * Formats an issue as `FILE:LINE:COL: path.to.field: message`, the form `switchyard check` prints;
 * a warning reads `FILE:LINE:COL: path.to.field: warning: message`.
 */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  const message = issue.severity === 'warning' ? `warning: ${issue.message}` : issue.message;
  return issue.path ? `${where}: ${issue.path}: ${message}` : `${where}: ${message}`;
}

/** Issues in the order of the file, as a compiler lists them. */
export function inFileOrder<T extends ConfigIssue>(issues: readonly T[]): T[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Thrown when a config file cannot be loaded; carries every issue found, not just the first. The
 * issues are its errors and, so that one run shows everything to fix, the warnings found with them.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}
