import { readCookie } from '../balancing/readCookie.ts';
import type { StickySettings } from '../balancing/sticky.ts';
import type { HeaderFields } from '../http/HeaderFields.ts';
import type { Pool } from './Pool.ts';

/** One side of a split: a named pool and its share of the requests. */
export interface SplitSide {
  readonly pool: Pool & { readonly name: string };
  /** Its share against the other sides' weights; 0 sends it nothing. */
  readonly weight: number;
}

/** The side a request goes to, and the cookie that keeps the client there (sticky splits). */
export interface SplitChoice {
  readonly pool: Pool;
  /** A `Set-Cookie` value naming the side, when the client's cookie does not already. */
  readonly setCookie?: string;
}

/**
 * Traffic splitting by weight between named pools (a canary taking 5% beside a stable 95%), as
 * Envoy's weighted clusters and Traefik's weighted services do: each request draws a side at
 * random, in proportion to the weights. Sticky, a cookie names the side the client got, and later
 * requests with it go to that side while it is in the split with a weight above 0; otherwise the
 * side is drawn again and the cookie replaced. A side whose backends are all down is not left for
 * another: the split is the operator's word on where traffic goes.
 */
export class Split {
  readonly sides: readonly SplitSide[];
  readonly sticky: StickySettings | undefined;
  readonly #total: number;
  readonly #random: () => number;

  /**
   * @param random source in [0, 1), as the balancing strategies take one
   * @param sticky the cookie naming the side; undefined for a split that draws every request afresh
   */
  constructor(sides: readonly SplitSide[], random: () => number, sticky?: StickySettings) {
    this.sides = sides;
    this.sticky = sticky;
    this.#random = random;
    this.#total = sides.reduce((sum, side) => sum + side.weight, 0);
  }

  /** The side for a request with these header fields. */
  choose(headers: HeaderFields): SplitChoice {
    if (!this.sticky) return { pool: this.#draw() };
    const named = readCookie(headers, this.sticky.cookie);
    const kept = named === undefined ? undefined : this.sides.find((side) => side.weight > 0 && side.pool.name === named);
    if (kept) return { pool: kept.pool };
    const pool = this.#draw();
    const maxAge = this.sticky.maxAgeMs === undefined ? '' : `; Max-Age=${Math.floor(this.sticky.maxAgeMs / 1000)}`;
    return { pool, setCookie: `${this.sticky.cookie}=${pool.name}; Path=/; HttpOnly; SameSite=Lax${maxAge}` };
  }

  #draw(): Pool & { readonly name: string } {
    let left = this.#random() * this.#total;
    for (const side of this.sides) {
      if (side.weight === 0) continue;
      if (left < side.weight) return side.pool;
      left -= side.weight;
    }
    // Rounding at the top end of [0, 1): the last side with a share.
    return this.sides.filter((side) => side.weight > 0).at(-1)!.pool;
  }
}
