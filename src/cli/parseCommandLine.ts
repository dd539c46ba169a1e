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
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type OptionName = keyof typeof OPTIONS;

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
    throw usageError(error) ?? error;
  }
}

function usageError(error: unknown): UsageError | undefined {
  const { code, message = '' } = (error ?? {}) as { code?: string; message?: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(unknownOption(/'([^']+)'/.exec(message)?.[1] ?? message));
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([a-z-]+)/.exec(message)?.[1] ?? '';
    return new UsageError(/missing/.test(message) ? `option --${name} needs a value` : `option --${name} takes no value`);
  }
  return undefined;
}

function unknownOption(option: string): string {
  const names = Object.keys(OPTIONS) as OptionName[];
  const guess = option.startsWith('--')
    ? names.find((name) => name === suggest(option.slice(2), names))
    : names.find((name) => shortOf(name)?.toLowerCase() === option.slice(1).toLowerCase());
  if (guess) return `unknown option ${option}; did you mean ${option.startsWith('--') || !shortOf(guess) ? `--${guess}` : `-${shortOf(guess)}`}?`;
  return `unknown option ${option}; the options are ${names.map((name) => (shortOf(name) ? `-${shortOf(name)}/--${name}` : `--${name}`)).join(', ')}`;
}

function shortOf(name: OptionName): string | undefined {
  const option = OPTIONS[name];
  return 'short' in option ? option.short : undefined;
}
