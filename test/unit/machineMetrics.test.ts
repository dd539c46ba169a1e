import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/admin/metrics.ts';
import { MachineMetrics } from '../../src/cli/workers/MachineMetrics.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';

const config = loadConfig('paths:\n  - path: /\n    servers: [127.0.0.1:8081]\n', 'lb.yaml');

/** A worker's `getMetricsAsJSON()`: its request count, and a backend_up it knows less well than the primary. */
const workerJson = (requests: number, up: number) => [
  { name: 'switchyard_requests_total', help: 'Requests answered.', type: 'counter', aggregator: 'sum', values: [{ value: requests, labels: { route: '/', code: '2xx' } }] },
  { name: 'switchyard_backend_up', help: 'Up.', type: 'gauge', aggregator: 'sum', values: [{ value: up, labels: { backend: '127.0.0.1:8081' } }] },
];

const sample = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1]);

describe('MachineMetrics (--workers /metrics)', () => {
  it('sums the workers\' counts, and takes the backends\' health from the primary alone', async () => {
    const primary = new Metrics(() => config);
    primary.watch(config, Date.now());
    const machine = new MachineMetrics(primary, async () => new Map([[1, workerJson(5, 1)], [2, workerJson(3, 1)]]));
    const text = await machine.text();
    expect(sample(text, 'switchyard_requests_total{route="/",code="2xx"}')).toBe(8);
    expect(sample(text, 'switchyard_backend_up{backend="127.0.0.1:8081"}')).toBe(1);
  });

  it('keeps the counts of a worker that has exited, so a counter never goes back', async () => {
    let workers = new Map([[1, workerJson(5, 1)], [2, workerJson(3, 1)]]);
    const machine = new MachineMetrics(new Metrics(() => config), async () => workers);
    await machine.text();
    workers = new Map([[1, workerJson(6, 1)]]);
    await machine.retire(2);
    expect(sample(await machine.text(), 'switchyard_requests_total{route="/",code="2xx"}')).toBe(9);
  });
});
