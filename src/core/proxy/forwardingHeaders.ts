import type { HeaderFields } from '../http/HeaderFields.ts';
/** What the balancer knows about the client's side of the exchange. */
export interface ClientFacts {
  /** The peer address of the client's connection, when the runtime tells it. */
  readonly address: string | undefined;
  /** `http` or `https`, as the client spoke to the balancer. */
  readonly protocol: string;
  /** The Host header the client sent. */
  readonly host: string | undefined;
}

/**
 * Adds the de-facto forwarding headers (the `X-Forwarded-*` family that RFC 7239's `Forwarded`
 * standardised): the client address is appended to any `X-Forwarded-For` chain already present,
 * so a backend that trusts the balancer can read the last entry.
 */
export function addForwardingHeaders(headers: HeaderFields, client: ClientFacts): void {
  if (client.address) {
    const chain = headers.get('x-forwarded-for');
    headers.set('x-forwarded-for', chain ? `${chain}, ${client.address}` : client.address);
  }
  headers.set('x-forwarded-proto', client.protocol);
  if (client.host) headers.set('x-forwarded-host', client.host);
}
