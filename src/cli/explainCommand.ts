import { readFile } from 'node:fs/promises';
import { ConfigError, formatIssue } from '../core/config/ConfigError.ts';
import type { Environment } from '../core/config/substituteEnv.ts';
import { ExplainInputError, explainRequest, parseHeaderField } from '../core/explain/explainRequest.ts';
import { explanationExitCode, formatExplanation } from '../core/explain/formatExplanation.ts';
import { loadChecked } from '../server/LiveConfig.ts';
import { CommandFailure, readFailure } from './CommandFailure.ts';
import { checkConfigFiles } from './configChecks.ts';
import { parseExplainLine, UsageError } from './parseCommandLine.ts';

/** `explain`'s exit code when it cannot explain: the command line, the URL or the config is wrong (0 and 1 are the verdict's). */
export const CANNOT_EXPLAIN = 2;

/**
 * `switchyard explain --config FILE [-X METHOD] [-H 'Name: value']... [--from ADDRESS] URL [--json]`:
 * prints what the balancer would do with the request, sending nothing, and exits 0 when it would
 * be forwarded, 1 when the balancer would answer it itself, 2 when it cannot say (a usage error, a
 * URL that is not one, a config that does not load; printed as `check` prints them).
 */
export async function explainCommand(argv: string[], env: Environment, help: string): Promise<number> {
  const fail = (message: string) => (console.error(`switchyard explain: ${message}`), CANNOT_EXPLAIN);
  try {
    const { values, positionals } = parseExplainLine(argv);
    if (values.help) return (console.log(help), 0);
    const urls = positionals.slice(1);
    if (urls.length !== 1) return fail(urls.length === 0 ? 'give the URL to explain, as http://HOST/PATH' : `one URL at a time; got ${urls.join(' ')}`);
    if (!values.config) return fail('--config FILE is required');
    const headers = (values.header ?? []).map(parseHeaderField);
    const file = values.config;
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      throw readFailure(error, file) ?? error;
    });
    const config = loadChecked(text, file, { env, checkFiles: checkConfigFiles });
    for (const warning of config.warnings) console.error(formatIssue(warning));
    const explanation = explainRequest(config, { method: values.request ?? 'GET', url: urls[0], headers, from: values.from });
    console.log(values.json ? JSON.stringify(explanation, null, 2) : formatExplanation(explanation));
    return explanationExitCode(explanation);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ExplainInputError || error instanceof CommandFailure) return fail(error.message);
    if (error instanceof ConfigError) return (console.error(error.message), CANNOT_EXPLAIN);
    throw error;
  }
}
