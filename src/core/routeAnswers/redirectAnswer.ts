import type { Answer } from '../Answer.ts';
import * as answers from '../answers.ts';
import type { Exchange } from '../Route.ts';
import { compileTemplate, render, TEMPLATE_VARIABLES } from '../rules/template.ts';

/** A route's `redirect` as written. */
export interface RedirectSettings {
  readonly to: string;
  /** @default 308 */
  readonly status?: 301 | 302 | 307 | 308;
}

/** The variables of `redirect.to`: the rules' ones, and the query, so a redirect can keep it. */
export const REDIRECT_VARIABLES: typeof TEMPLATE_VARIABLES = {
  ...TEMPLATE_VARIABLES,
  /** The raw query string with its `?`, or nothing: `https://${host}${path}${query}` keeps it whole. */
  query: (exchange) => exchange.query,
};

/**
 * Compiles a route's `redirect` into its answer: the status with `Location` rendered from the
 * request as it arrived (before any rule changed it), and a short text body, none to a HEAD.
 * @throws ConfigProblem for an unknown variable in `to`
 */
export function compileRedirect(settings: RedirectSettings, at: readonly (string | number)[]): (exchange: Exchange) => Answer {
  const to = compileTemplate(settings.to, [...at, 'to'], REDIRECT_VARIABLES);
  const status = settings.status ?? 308;
  return (exchange) => {
    const answer = answers.redirect(status, render(to, exchange));
    return exchange.method === 'HEAD' ? headOnly(answer) : answer;
  };
}

/**
 * The answer to a HEAD: the same header fields, the length the body would have, and no body
 * (RFC 9110 section 9.3.2).
 */
export function headOnly(answer: answers.OwnAnswer): Answer {
  answer.headers.set('content-length', String(new TextEncoder().encode(answer.body).byteLength));
  return { status: answer.status, headers: answer.headers, body: null };
}
