import { ConfigProblem } from './ConfigProblem.ts';

/**
 * Collects the problems found while compiling a config, so that one run reports every one of
 * them instead of stopping at the first. Compile steps throw a `ConfigProblem` for what they
 * cannot compile; `attempt` records it and lets the next step run.
 */
export class ConfigProblems {
  readonly #found: ConfigProblem[] = [];

  /** Every problem recorded, errors and warnings, in the order found. */
  get found(): readonly ConfigProblem[] {
    return this.#found;
  }

  get hasErrors(): boolean {
    return this.#found.some((problem) => problem.severity === 'error');
  }

  add(problem: ConfigProblem): void {
    this.#found.push(problem);
  }

  warn(path: readonly (string | number)[], message: string): void {
    this.#found.push(new ConfigProblem(path, message, 'warning'));
  }

  /**
   * Runs one compile step. A `ConfigProblem` it throws is recorded and the step gives undefined;
   * anything else is a bug and is thrown on.
   */
  attempt<T>(step: () => T): T | undefined {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof ConfigProblem)) throw error;
      this.#found.push(error);
      return undefined;
    }
  }
}
