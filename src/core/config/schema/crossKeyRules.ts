/**
 * Rules between keys that the compile step checks in code (compilePool, compileConfig,
 * compileClientAddress), restated as JSON Schema `allOf` entries so that an editor flags them too.
 */

/** The object has these keys. They are named in `properties` too (as `true`, constraining nothing), as strict validators such as ajv's want. */
const has = (...names: string[]) => ({ type: 'object', required: names, properties: Object.fromEntries(names.map((name) => [name, true])) });

const usesConsistentHash = { type: 'object', required: ['algorithm'], properties: { algorithm: { const: 'consistent_hash' } } };

const everyRoute = (rule: object) => ({
  properties: { hosts: { type: 'array', items: rule }, paths: { type: 'array', items: rule } },
});

const someRoute = (rule: object) => [
  { ...has('hosts'), properties: { hosts: { type: 'array', contains: rule } } },
  { ...has('paths'), properties: { paths: { type: 'array', contains: rule } } },
];

const POOL_KEYS = ['algorithm', 'hash_on', 'health_check', 'passive_health', 'retries', 'sticky', 'protocol', 'tls'];
const none = (names: string[]) => ({ not: { anyOf: names.map((name) => has(name)) } });

/**
 * `hash_on` only where `consistent_hash` uses it, `forwarded_header` only with `trusted_proxies`,
 * and each route with exactly one target, pool keys only beside its own `servers` (`sticky` on a split too).
 */
export const crossKeyRules = [
  everyRoute({ oneOf: ['servers', 'pool', 'split', 'redirect', 'respond'].map((name) => has(name)) }),
  everyRoute({ if: has('pool'), then: none(POOL_KEYS) }),
  everyRoute({ if: has('split'), then: none(POOL_KEYS.filter((name) => name !== 'sticky')) }),
  everyRoute({ if: { anyOf: [has('redirect'), has('respond')] }, then: none(POOL_KEYS) }),
  // A route's hash_on needs the route's algorithm (its own, else the top level's) to be consistent_hash.
  everyRoute({ if: has('hash_on', 'algorithm'), then: usesConsistentHash }),
  { if: { not: usesConsistentHash }, then: everyRoute({ if: has('hash_on'), then: has('algorithm') }) },
  // A top-level hash_on needs a route that uses consistent_hash, by its own algorithm or the top level's.
  {
    if: has('hash_on'),
    then: { anyOf: [...someRoute(usesConsistentHash), { allOf: [usesConsistentHash, { anyOf: someRoute({ not: has('algorithm') }) }] }] },
  },
  // Only trusted proxies are believed, so forwarded_header means nothing without them.
  { if: has('forwarded_header'), then: { ...has('trusted_proxies'), properties: { trusted_proxies: { type: 'array', minItems: 1 } } } },
];
