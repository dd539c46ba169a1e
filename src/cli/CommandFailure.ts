import { resolve } from 'node:path';

/** A failure whose message is written for the user: `describeFailure` prints it as it is, without a stack trace. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

/**
 * Why the config file at `file` could not be read, naming its absolute path (relative paths are
 * the caller's: the Deno entry point moves to `deno task`'s caller's directory first), or undefined
 * when `error` is not about reading a file.
 */
export function readFailure(error: unknown, file: string): CommandFailure | undefined {
  const { code, name } = (error ?? {}) as { code?: string; name?: string };
  const why = code === 'ENOENT' || name === 'NotFound' ? 'no such file' : undefined;
  return why ? new CommandFailure(`cannot read ${resolve(file)}: ${why}`, { cause: error }) : undefined;
}
