import type { Balanced, BalancingStrategy, HashOn, PickRequest, StrategyOptions } from './BalancingStrategy.ts';
import { hash32 } from './hash32.ts';
import { randomStrategy } from './random.ts';
import { readCookie } from './readCookie.ts';

/** Ring points for weight 1; heavier members get proportionally more, within `MAX_POINTS` in all. */
const POINTS_PER_WEIGHT = 160;
const MAX_POINTS = 100_000;

/**
 * Consistent hashing on a ring (Karger et al.; ketama's layout): each member owns many points on a
 * 32-bit circle, and a key goes to the owner of the first point at or after the key's hash. When
 * a member leaves (down, ejected, or already tried), its keys walk on to the next points, so only
 * its share moves; every other key stays where it was. Requests without the key (no header,
 * cookie or known client address) are spread at random.
 */
export function consistentHashStrategy<B extends Balanced>(options: StrategyOptions<B>): BalancingStrategy<B> {
  const hashOn = options.hashOn ?? 'client_ip';
  const ring = buildRing(options.members.map((member) => ({ backend: member.backend, weight: member.weight })));
  const fallback = randomStrategy(options);
  return {
    pick(candidates, request) {
      const key = keyOf(hashOn, request);
      if (key === undefined) return fallback.pick(candidates, request);
      const allowed = candidates.length === options.members.length ? undefined : new Set(candidates.map((member) => member.backend));
      const start = lowerBound(ring.points, hash32(key));
      for (let step = 0; step < ring.points.length; step++) {
        const backend = ring.owners[(start + step) % ring.points.length];
        if (!allowed || allowed.has(backend)) return backend;
      }
      return fallback.pick(candidates, request);
    },
  };
}

function keyOf(hashOn: HashOn, request: PickRequest): string | undefined {
  if (hashOn === 'client_ip') return request.clientAddress || undefined;
  if ('header' in hashOn) return request.headers.get(hashOn.header) ?? undefined;
  return readCookie(request.headers, hashOn.cookie);
}

interface Ring<B> {
  readonly points: Uint32Array;
  readonly owners: B[];
}

function buildRing<B extends Balanced>(members: readonly { backend: B; weight: number }[]): Ring<B> {
  const totalWeight = members.reduce((sum, member) => sum + member.weight, 0);
  const scale = Math.max(1, Math.min(POINTS_PER_WEIGHT, Math.floor(MAX_POINTS / totalWeight)));
  const entries: { point: number; backend: B }[] = [];
  for (const member of members) {
    // Points hang off the backend's id, not its position in the list, so reordering the config moves nothing.
    for (let i = 0; i < member.weight * scale; i++) entries.push({ point: hash32(`${member.backend.id}#${i}`), backend: member.backend });
  }
  entries.sort((a, b) => a.point - b.point || (a.backend.id < b.backend.id ? -1 : 1));
  return { points: Uint32Array.from(entries, (entry) => entry.point), owners: entries.map((entry) => entry.backend) };
}

/** The first index whose point is >= `value`, wrapping to 0 past the end. */
function lowerBound(points: Uint32Array, value: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (points[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low === points.length ? 0 : low;
}
