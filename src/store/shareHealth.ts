import type { LiveConfig } from '../server/LiveConfig.ts';
import { FleetHealth, type FleetHealthOptions } from './FleetHealth.ts';
import type { StoreStats } from './RedisStore.ts';
import type { SharedStores } from './SharedStores.ts';

/**
 * Shares the health of `live`'s backends, config after config, through the Redis of the store in
 * use (none while the config has no `store`). Where drains are made (the admin API), pass them on
 * with `drainChanged`; `close` at stop. The `--workers` primary, which probes for the machine,
 * wires it the same way.
 */
export function shareHealth(live: LiveConfig, stores: SharedStores, options: FleetHealthOptions): FleetHealth {
  const fleet = new FleetHealth(options);
  fleet.follow(live.config.backends);
  live.onReload((next) => ({ commit: () => fleet.follow(next.backends) }));
  stores.onLink((shared) => fleet.use(shared));
  return fleet;
}

/** The store's state for /metrics in a process that shares health: the rate limits' store and whether health is shared. */
export function storeStats(stores: SharedStores, fleet: FleetHealth): StoreStats | undefined {
  const stats = stores.stats;
  return stats && { ...stats, healthShared: fleet.shared ?? false };
}
