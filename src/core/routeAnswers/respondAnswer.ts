import type { Answer } from '../Answer.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import { FieldList } from '../http/FieldList.ts';
import { isHopByHop } from '../http/hopByHop.ts';
import type { Exchange } from '../Route.ts';

/** A route's `respond` as written. */
export interface RespondSettings {
  /** @default 200 */
  readonly status?: number;
  /** @default none */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Fields the framing of the answer sets: a fixed answer's length is its body's. */
const FRAMING = new Set(['content-length']);

/**
 * Compiles a route's `respond` into its answer: the status, the fields and the body as written
 * (`text/plain; charset=utf-8` unless a Content-Type is given), its length declared, and no body
 * to a HEAD (RFC 9110 section 9.3.2). Each request gets its own copy of the fields, since the
 * response rules may change them.
 * @throws ConfigProblem for a body on a status that has none, or a field the framing owns
 */
export function compileRespond(settings: RespondSettings, at: readonly (string | number)[]): (exchange: Exchange) => Answer {
  const status = settings.status ?? 200;
  const body = settings.body ?? '';
  // RFC 9110 sections 15.3.5 and 15.4.5: these statuses end at their header section.
  if (body !== '' && (status === 204 || status === 304)) throw new ConfigProblem([...at, 'body'], `a ${status} answer has no body: leave body out, or answer 200`);
  const fields = new FieldList();
  for (const [name, value] of Object.entries(settings.headers ?? {})) {
    const lower = name.toLowerCase();
    if (FRAMING.has(lower) || isHopByHop(lower)) throw new ConfigProblem([...at, 'headers', name], `${name} is set by the balancer for each answer (from the body and the connection), not written here`);
    fields.append(lower, value);
  }
  if (body !== '' && !fields.has('content-type')) fields.set('content-type', 'text/plain; charset=utf-8');
  if (status !== 204 && status !== 304) fields.set('content-length', String(new TextEncoder().encode(body).byteLength));
  const initial = fields.flat;
  return (exchange) => ({ status, headers: new FieldList(initial.slice()), body: exchange.method === 'HEAD' || body === '' ? null : body });
}
