import type { HeaderFields } from '../http/HeaderFields.ts';

/** What a strategy may look at to choose a backend. */
export interface PickRequest {
  readonly clientAddress: string | undefined;
  readonly headers: HeaderFields;
}

/** What a strategy knows of a backend: who it is and how busy it is. */
export interface Balanced {
  /** Stable whatever the order of the config's list; `consistent_hash` and `sticky` hash it. */
  readonly id: string;
  /** Requests sent and not yet answered in full; `least_connections` and `power_of_two` compare it. */
  readonly inFlight: number;
}

/** A backend of a pool and its share of the traffic. */
export interface Member<B extends Balanced = Balanced> {
  readonly backend: B;
  readonly weight: number;
}

/** Chooses one of the healthy members of a pool. `candidates` is never empty. */
export interface BalancingStrategy<B extends Balanced = Balanced> {
  pick(candidates: readonly Member<B>[], request: PickRequest): B;
}

/** What `consistent_hash` hashes. */
export type HashOn = 'client_ip' | { readonly header: string } | { readonly cookie: string };

/** What a strategy is built from: the pool's members and the injected random source. */
export interface StrategyOptions<B extends Balanced = Balanced> {
  readonly members: readonly Member<B>[];
  readonly random: () => number;
  /** For `consistent_hash`. @default 'client_ip' */
  readonly hashOn?: HashOn;
}
