import type { HeaderFields } from '../http/HeaderFields.ts';
import type { Balanced, Member } from './BalancingStrategy.ts';
import { hash32 } from './hash32.ts';
import { readCookie } from './readCookie.ts';

/** Sticky-session settings of a pool. */
export interface StickySettings {
  /** @default 'switchyard_backend' */
  readonly cookie: string;
  /** `Max-Age` of the cookie in ms; undefined for a session cookie. */
  readonly maxAgeMs?: number;
}

/**
 * Sticky sessions by cookie, as HAProxy's `cookie ... insert`: the first response carries a cookie
 * naming the backend that served it (by an opaque token, never its address); later requests with
 * that cookie go to the same backend while it is healthy, and to a fresh pick (with a new cookie)
 * when it is not.
 */
export class Sticky {
  readonly settings: StickySettings;

  constructor(settings: StickySettings) {
    this.settings = settings;
  }

  /** The candidate the request's cookie names, if it is among the candidates. */
  find<B extends Balanced>(candidates: readonly Member<B>[], headers: HeaderFields): B | undefined {
    const token = readCookie(headers, this.settings.cookie);
    if (!token) return undefined;
    return candidates.find((member) => stickyToken(member.backend) === token)?.backend;
  }

  /** The `Set-Cookie` value that pins the client to `backend`, or undefined when its cookie does so already. */
  setCookie(backend: Balanced, headers: HeaderFields): string | undefined {
    const token = stickyToken(backend);
    if (readCookie(headers, this.settings.cookie) === token) return undefined;
    const maxAge = this.settings.maxAgeMs === undefined ? '' : `; Max-Age=${Math.floor(this.settings.maxAgeMs / 1000)}`;
    return `${this.settings.cookie}=${token}; Path=/; HttpOnly; SameSite=Lax${maxAge}`;
  }
}

/** An opaque, stable token for a backend: two seeded hashes of its id, so collisions are negligible. */
export function stickyToken(backend: Pick<Balanced, 'id'>): string {
  return hash32(backend.id, 0x5eed).toString(36) + hash32(backend.id, 0xc0ffee).toString(36);
}
