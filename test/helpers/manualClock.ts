/** A clock and timers that move only when told, for tests of health checks, cool-downs and budgets. */
export interface ManualClock {
  now(): number;
  readonly timers: { setTimeout(callback: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  /** Moves time forward by `ms`, running each timer that falls due in order, letting promises settle after each. */
  advance(ms: number): Promise<void>;
  /** Timers set and not yet run or cleared. */
  pending(): number;
}

export function manualClock(start = 1_000_000): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => now,
    timers: {
      setTimeout(callback, ms) {
        const id = nextId++;
        timers.set(id, { at: now + Math.max(0, ms), callback });
        return id;
      },
      clearTimeout(handle) {
        timers.delete(handle as number);
      },
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
        await settle();
      }
      now = target;
    },
    pending: () => timers.size,
  };
}

/** A seeded pseudo-random source in [0, 1) (mulberry32), so distributions are the same on every run. */
export function seededRandom(seed = 42): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
