/** One problem found in a config file, with where it is. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Field path such as `hosts[1].servers[0]`; empty for the document itself. */
  path: string;
  message: string;
}

/** Formats an issue as `FILE:LINE:COL: path.to.field: message`, the form `switchyard check` prints. */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Thrown when a config file cannot be loaded; carries every issue found, not just the first. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}
