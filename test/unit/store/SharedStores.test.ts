import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Upstream } from '../../../src/core/Upstream.ts';
import { LiveConfig } from '../../../src/server/LiveConfig.ts';
import type { RedisLink } from '../../../src/store/redisLink.ts';
import { noHealthSharing } from '../../helpers/fakeRedis.ts';
import { SharedStores } from '../../../src/store/SharedStores.ts';
import { Metrics } from '../../../src/admin/metrics.ts';

const probes: Upstream = async () => ({ status: 200, headers: [], body: null }) as never;

/** Links that never connect, and what became of each. */
function fakeLinks() {
  const opened: { url: string; timeoutMs: number; closed: boolean; link: RedisLink }[] = [];
  const open = (url: string, timeoutMs: number): RedisLink => {
    const link: RedisLink = { ready: false, onChange: () => {}, gcra: () => Promise.reject(new Error('not connected')), ...noHealthSharing, close: async () => void (made.closed = true) };
    const made = { url, timeoutMs, closed: false, link };
    opened.push(made);
    return link;
  };
  return { opened, open };
}

const config = (store: string) => `
health_check: { interval: 1h }
${store}
paths:
  - path: /
    servers: [localhost:8081]
    rate_limit: { requests: 10, per: 1s }
`;

let dir: string;
let file: string;
let live: LiveConfig | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-stores-'));
  file = join(dir, 'lb.yaml');
});
afterEach(async () => {
  live?.stop();
  live = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('SharedStores through LiveConfig', () => {
  it('opens one store at start-up, keeps it across reloads that leave `store` alone, swaps it when its URL changes, and closes it on a removal', async () => {
    const links = fakeLinks();
    const log: string[] = [];
    const stores = new SharedStores(links.open, (line) => void log.push(line));
    await writeFile(file, config('store: { redis: "redis://127.0.0.1:1", timeout: 50ms }'));
    live = await LiveConfig.load(file, { log: () => {}, probes, stores });
    expect(links.opened).toMatchObject([{ url: 'redis://127.0.0.1:1', timeoutMs: 50, closed: false }]);
    // Health is shared through the link in use (FleetHealth): told now, and at each change.
    const shared: (string | undefined)[] = [];
    stores.onLink((link) => void shared.push(link && `${links.opened.findIndex((made) => made.link === link.link)} ${link.prefix}`));
    expect(live.config.routesInOrder[0].guards.at(-1)?.shared?.store).toBeDefined();

    // Same store, another route change: no new connection.
    await writeFile(file, config('store: { redis: "redis://127.0.0.1:1", timeout: 50ms }').replace('10, per', '20, per'));
    expect((await live.reload('test'))?.result).toBe('success');
    expect(links.opened).toHaveLength(1);

    // An invalid config opens nothing.
    await writeFile(file, config('store: { redis: "redis://127.0.0.1:2" }').replace('localhost:8081', 'localhost:80x1'));
    expect((await live.reload('test'))?.result).toBe('failure');
    expect(links.opened).toHaveLength(1);
    // A reload refused after compiling (a step says no) with a new URL: the store made for it is closed, the one in use stays.
    let refuse = true;
    live.onReload(() => {
      if (refuse) throw new Error('refused');
    });
    await writeFile(file, config('store: { redis: "redis://127.0.0.1:2" }'));
    expect((await live.reload('test'))?.result).toBe('failure');
    expect(links.opened.map((link) => link.closed)).toEqual([false, true]);
    refuse = false;

    // A new URL: the new store is used, the old one closed.
    await writeFile(file, config('store: { redis: "redis://127.0.0.1:3" }'));
    expect((await live.reload('test'))?.result).toBe('success');
    expect(links.opened.map((link) => [link.url, link.closed])).toEqual([
      ['redis://127.0.0.1:1', true],
      ['redis://127.0.0.1:2', true],
      ['redis://127.0.0.1:3', false],
    ]);
    expect(stores.stats).toEqual({ up: false, fallbacks: { unreachable: 0, timeout: 0, error: 0 } });
    expect(shared).toEqual(['0 switchyard:', '2 switchyard:']);

    // No store: the last one closed, rate limits local again.
    await writeFile(file, config(''));
    expect((await live.reload('test'))?.result).toBe('success');
    expect(links.opened.every((link) => link.closed)).toBe(true);
    expect(stores.stats).toBeUndefined();
    expect(shared.at(-1)).toBeUndefined();
    expect(live.config.routesInOrder[0].guards.at(-1)?.shared).toBeUndefined();
    await stores.close();
  });

  it('counts fallbacks across a swap, and writes the store metrics only while there is a store, whether or not it is told of the reloads (a --workers worker is not)', async () => {
    const links = fakeLinks();
    const stores = new SharedStores(links.open, () => {});
    await writeFile(file, config('store: { redis: "redis://127.0.0.1:1" }'));
    live = await LiveConfig.load(file, { log: () => {}, probes, stores });
    const current = live;
    // As a process that shares health gives them (storeStats).
    const metrics = new Metrics(() => current.config, { store: () => stores.stats && { ...stores.stats, healthShared: false } });
    const guard = live.config.routesInOrder[0].guards.at(-1)!;
    const takeShared = (shared: NonNullable<typeof guard.shared>) => shared.store.take('l', 'k', { requests: 1, perMs: 1000, burst: 1 });
    expect(await takeShared(guard.shared!)).toBeUndefined();
    expect(await metrics.text()).toMatch(/^switchyard_store_up 0$/m);
    expect(await metrics.text()).toMatch(/^switchyard_store_health_shared 0$/m);
    expect(await metrics.text()).toMatch(/^switchyard_store_fallbacks_total\{reason="unreachable"\} 1$/m);

    await writeFile(file, config('store: { redis: "redis://127.0.0.1:2" }'));
    await live.reload('test');
    await takeShared(live.config.routesInOrder[0].guards.at(-1)!.shared!);
    expect(await metrics.text()).toMatch(/^switchyard_store_fallbacks_total\{reason="unreachable"\} 2$/m);

    await writeFile(file, config(''));
    await live.reload('test');
    expect(await metrics.text()).not.toMatch(/switchyard_store/);
    await writeFile(file, config('store: { redis: "redis://127.0.0.1:3" }'));
    await live.reload('test');
    expect(await metrics.text()).toMatch(/^switchyard_store_up 0$/m);
    await stores.close();
  });
});
