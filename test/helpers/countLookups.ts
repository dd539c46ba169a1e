/** What a piece of work asked of Maps and Sets: how many lookups, and the characters of their keys. */
export interface Lookups<R> {
  readonly result: R;
  readonly probes: number;
  /** String keys count their length, other keys 1: a key built by slicing costs what it holds. */
  readonly keyChars: number;
}

/**
 * Runs `work` with every `Map#get`, `Map#has` and `Set#has` counted, so a test can assert how the
 * work grows with its input without timing it (the machine running the tests is shared and noisy).
 */
export function countLookups<R>(work: () => R): Lookups<R> {
  let probes = 0;
  let keyChars = 0;
  const methods: [Record<string, unknown>, string][] = [
    [Map.prototype as unknown as Record<string, unknown>, 'get'],
    [Map.prototype as unknown as Record<string, unknown>, 'has'],
    [Set.prototype as unknown as Record<string, unknown>, 'has'],
  ];
  const originals = methods.map(([proto, name]) => proto[name] as (this: unknown, key: unknown) => unknown);
  methods.forEach(([proto, name], i) => {
    const original = originals[i];
    proto[name] = function (this: unknown, key: unknown) {
      probes++;
      keyChars += typeof key === 'string' ? key.length : 1;
      return original.call(this, key);
    };
  });
  try {
    const result = work();
    return { result, probes, keyChars };
  } finally {
    methods.forEach(([proto, name], i) => (proto[name] = originals[i]));
  }
}
