import type { Answer } from '../../src/core/Answer.ts';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { isAdmitted, type Admitted, type ClientRequest } from '../../src/core/proxy/admit.ts';

/** A request as a runtime hands it over: GET / from 192.0.2.10 over http, with `headers` as `[name, value, ...]`. */
export function clientRequest(overrides: Partial<Omit<ClientRequest, 'headers'>> & { headers?: string[] } = {}): ClientRequest {
  const { headers = ['host', 'app.test'], ...rest } = overrides;
  return { method: 'GET', target: '/', headers: new FieldList(headers), scheme: 'http', peer: '192.0.2.10', body: null, ...rest };
}

/** What `admit` gave, which must be an admission: a refusal throws with its status and body. */
export function admitted(result: Admitted | Answer): Admitted {
  if (!isAdmitted(result)) throw new Error(`refused with ${result.status}: ${String(result.body)}`);
  return result;
}

/** What `admit` gave, which must be a refusal: an admission throws naming its route. */
export function refused(result: Admitted | Answer): Answer {
  if (isAdmitted(result)) throw new Error(`admitted to ${result.exchange.route.name}`);
  return result;
}
