import type { HeaderFields } from '../http/HeaderFields.ts';
import type { Backend } from '../pool/Backend.ts';
import type { PoolMember } from '../pool/Pool.ts';

/** What a strategy may look at to choose a backend. */
export interface PickRequest {
  readonly clientAddress: string | undefined;
  readonly headers: HeaderFields;
}

/** Chooses one of the healthy members of a pool. `candidates` is never empty. */
export interface BalancingStrategy {
  pick(candidates: readonly PoolMember[], request: PickRequest): Backend;
}

/** What `consistent_hash` hashes. */
export type HashOn = 'client_ip' | { readonly header: string } | { readonly cookie: string };

/** What a strategy is built from: the pool's members and the injected random source. */
export interface StrategyOptions {
  readonly members: readonly PoolMember[];
  readonly random: () => number;
  /** For `consistent_hash`. @default 'client_ip' */
  readonly hashOn?: HashOn;
}
