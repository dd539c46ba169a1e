import type { Answer } from '../Answer.ts';
import type { RequestRecord } from '../observe/RequestRecord.ts';
import type { Exchange, GateContext, OutgoingRequest } from '../Route.ts';
import type { HeaderFields } from '../http/HeaderFields.ts';
import type { Wire } from '../Upstream.ts';

/**
 * Runs the route's gates in order (docs/edge-middleware.md) and returns the first answer one makes,
 * or undefined when every one lets the request through. A refusal (an answer with a cause) is
 * recorded under the gate's name; the gates passed before it add their fields to it (CORS's, so a
 * page's script can read a 401).
 */
export async function passGates<W extends Wire>(exchange: Exchange, outgoing: OutgoingRequest<W>, context: GateContext<W>, record: RequestRecord): Promise<Answer<W['body']> | undefined> {
  const { gates } = exchange.route;
  for (let i = 0; i < gates.length; i++) {
    const answer = await gates[i].pass(exchange, outgoing, context);
    if (!answer) continue;
    if (answer.cause !== undefined) {
      record.refusedBy = gates[i].name;
      record.error = answer.cause;
      // The rest of an unread upload is not worth reading: the connection goes with it.
      if (outgoing.body !== null) answer.headers.set('connection', 'close');
    }
    for (let passed = 0; passed < i; passed++) gates[passed].respond?.(exchange, answer.headers);
    return answer;
  }
  return undefined;
}

/** Every gate's fields on an answer the request got past them all: a backend's. */
export function gateFields(exchange: Exchange, headers: HeaderFields): void {
  for (const gate of exchange.route.gates) gate.respond?.(exchange, headers);
}
