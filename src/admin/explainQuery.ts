import type { Explanation } from '../core/explain/Explanation.ts';
import { ExplainInputError, explainRequest, parseHeaderField, type ExplainConfig } from '../core/explain/explainRequest.ts';

/** The longest `url` explained: more than any listener's request-target limit lets through, so those are still explained as 414. */
export const MAX_EXPLAIN_URL = 16_384;
/** The most `header` parameters: more than a listener's `max_header_count` by default, so 431 is still explained. */
export const MAX_EXPLAIN_HEADERS = 200;

/**
 * `GET /api/explain?url=URL&method=GET&header=Name:%20value&from=ADDRESS` (`header` repeated):
 * the explanation of that request against the config in use, with its backends' live health, or
 * why the query cannot be explained. Bounded, and dry like `switchyard explain`: safe to ask of a
 * balancer in production.
 */
export function explainQuery(config: ExplainConfig, query: URLSearchParams): Explanation | { error: string } {
  const url = query.get('url');
  if (url === null) return { error: 'give the request as ?url=http://HOST/PATH, with method=, header=Name: value (repeated) and from= if need be' };
  if (url.length > MAX_EXPLAIN_URL) return { error: `url is longer than ${MAX_EXPLAIN_URL} characters` };
  const fields = query.getAll('header');
  if (fields.length > MAX_EXPLAIN_HEADERS) return { error: `more than ${MAX_EXPLAIN_HEADERS} header parameters` };
  try {
    return explainRequest(config, { url, method: query.get('method') ?? 'GET', headers: fields.map(parseHeaderField), from: query.get('from') ?? undefined });
  } catch (error) {
    if (error instanceof ExplainInputError) return { error: error.message };
    throw error;
  }
}
