/**
 * A problem found while compiling a config that passed the schema (a duplicate route, a bad CIDR
 * or regex). It names the field by its path; the loader turns that into a file, line and column.
 */
export class ConfigProblem extends Error {
  override name = 'ConfigProblem';
  readonly path: readonly (string | number)[];

  constructor(path: readonly (string | number)[], message: string) {
    super(message);
    this.path = path;
  }
}
