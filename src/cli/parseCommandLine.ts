import { parseArgs } from 'node:util';
import { suggest } from '../core/config/suggest.ts';

/** The options of every command, with their short forms (`--help` lists them). */
export const OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  hostname: { type: 'string', short: 'H' },
  'access-log': { type: 'string' },
  admin: { type: 'string' },
  watch: { type: 'boolean' },
  workers: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** The options of `explain`, whose -H is a header field (as curl's), not `--hostname`. */
export const EXPLAIN_OPTIONS = {
  config: { type: 'string', short: 'c' },
  request: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  from: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionTable = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** A command line that cannot be read: printed as it is, with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Reads the command line (`node:util`'s `parseArgs`); an unknown option, or one without its value,
 * throws a `UsageError` that says so in a sentence, with a suggestion for a likely typo.
 * @example parseCommandLine(['serve', '--prot', '80']) // throws 'unknown option --prot; did you mean --port?'
 */
export function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw usageError(error, OPTIONS) ?? error;
  }
}

/** Reads the command line of `explain` (its own options: -X, -H, --from, --json), as `parseCommandLine` does the others'. */
export function parseExplainLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: EXPLAIN_OPTIONS });
  } catch (error) {
    throw usageError(error, EXPLAIN_OPTIONS) ?? error;
  }
}

/** The command named (the first positional), read leniently: every option of every command is known, so their values are not taken for it. */
export function commandOf(argv: string[]): string | undefined {
  const { header, ...explainOnly } = EXPLAIN_OPTIONS;
  const options = { ...OPTIONS, ...explainOnly, header: { type: 'string', multiple: true } } as const;
  return parseArgs({ args: argv, allowPositionals: true, strict: false, options }).positionals[0];
}

function usageError(error: unknown, table: OptionTable): UsageError | undefined {
  const { code, message = '' } = (error ?? {}) as { code?: string; message?: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(unknownOption(/'([^']+)'/.exec(message)?.[1] ?? message, table));
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([a-z-]+)/.exec(message)?.[1] ?? '';
    return new UsageError(/missing/.test(message) ? `option --${name} needs a value` : `option --${name} takes no value`);
  }
  return undefined;
}

function unknownOption(option: string, table: OptionTable): string {
  const names = Object.keys(table);
  const shortOf = (name: string) => table[name].short;
  const guess = option.startsWith('--')
    ? names.find((name) => name === suggest(option.slice(2), names))
    : names.find((name) => shortOf(name)?.toLowerCase() === option.slice(1).toLowerCase());
  if (guess) return `unknown option ${option}; did you mean ${option.startsWith('--') || !shortOf(guess) ? `--${guess}` : `-${shortOf(guess)}`}?`;
  return `unknown option ${option}; the options are ${names.map((name) => (shortOf(name) ? `-${shortOf(name)}/--${name}` : `--${name}`)).join(', ')}`;
}
