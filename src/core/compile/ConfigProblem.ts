/** How much a problem matters: an error refuses the config; a warning is reported and the config still serves. */
export type Severity = 'error' | 'warning';

/**
 * A problem found while compiling a config that passed the schema (a duplicate route, a bad CIDR
 * or regex, a rule that can never apply). It names the field by its path; the loader turns that
 * into a file, line and column.
 */
export class ConfigProblem extends Error {
  override name = 'ConfigProblem';
  readonly path: readonly (string | number)[];
  readonly severity: Severity;

  /** @param severity @default 'error' */
  constructor(path: readonly (string | number)[], message: string, severity: Severity = 'error') {
    super(message);
    this.path = path;
    this.severity = severity;
  }
}
