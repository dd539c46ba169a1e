import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/admin/metrics.ts';
import { MachineCounts } from '../../src/cli/workers/MachineCounts.ts';
import type { WorkerCounts } from '../../src/cli/workers/messages.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';

const config = loadConfig('paths:\n  - path: /\n    servers: [127.0.0.1:8081]\n', 'lb.yaml');
const backend = config.backends[0];

/** A worker's answer: its requests, a backend_up it knows less well than the primary, and prom-client's process metrics. */
const worker = (requests: number, { up = 1, cpu = 0, gc = 0, inFlight = 0, heap = 100 } = {}): WorkerCounts => ({
  text: [
    '# HELP switchyard_requests_total Requests answered.',
    '# TYPE switchyard_requests_total counter',
    `switchyard_requests_total{route="/",code="2xx"} ${requests}`,
    '# HELP switchyard_backend_up Up.',
    '# TYPE switchyard_backend_up gauge',
    `switchyard_backend_up{backend="127.0.0.1:8081"} ${up}`,
    '# HELP process_cpu_seconds_total CPU.',
    '# TYPE process_cpu_seconds_total counter',
    `process_cpu_seconds_total ${cpu}`,
    '# HELP nodejs_gc_duration_seconds GC.',
    '# TYPE nodejs_gc_duration_seconds histogram',
    `nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} ${gc}`,
    `nodejs_gc_duration_seconds_bucket{le="+Inf",kind="minor"} ${gc}`,
    `nodejs_gc_duration_seconds_sum{kind="minor"} ${gc / 1000}`,
    `nodejs_gc_duration_seconds_count{kind="minor"} ${gc}`,
    '# HELP nodejs_heap_size_used_bytes Heap.',
    '# TYPE nodejs_heap_size_used_bytes gauge',
    `nodejs_heap_size_used_bytes ${heap}`,
    '# HELP nodejs_version_info Version.',
    '# TYPE nodejs_version_info gauge',
    'nodejs_version_info{version="v20.0.0"} 1',
    '',
  ].join('\n'),
  aggregators: { nodejs_version_info: 'first' },
  inFlight: { [backend.id]: inFlight },
  lastMinute: { [backend.id]: [requests, 1] },
});

const sample = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1]);

/** Every series of a counter or histogram in an exposition, with its value. */
function growingSeries(text: string): Map<string, number> {
  const found = new Map<string, number>();
  let growing = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) growing = / (counter|histogram)$/.test(line);
    else if (growing && line && !line.startsWith('#')) found.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return found;
}

const primary = () => {
  const metrics = new Metrics(() => config);
  metrics.watch(config, Date.now());
  return metrics;
};

describe('MachineCounts (--workers /metrics and status)', () => {
  it("sums the workers' counts, and takes the backends' health from the primary alone", async () => {
    const machine = new MachineCounts(primary(), async () => new Map([[1, worker(5, { heap: 100 })], [2, worker(3, { heap: 50 })]]));
    const text = await machine.text();
    expect(sample(text, 'switchyard_requests_total{route="/",code="2xx"}')).toBe(8);
    expect(sample(text, 'switchyard_backend_up{backend="127.0.0.1:8081"}')).toBe(1);
    expect(sample(text, 'nodejs_version_info{version="v20.0.0"}')).toBe(1);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThanOrEqual(150);
  });

  it('never lets a counter or histogram series go down when a worker exits and is replaced, process and Node.js ones included', async () => {
    let workers = new Map([[1, worker(5, { cpu: 1.5, gc: 5 })], [2, worker(3, { cpu: 0.5, gc: 3 })]]);
    const machine = new MachineCounts(primary(), async () => workers);
    const before = growingSeries(await machine.text());
    machine.retire(2);
    workers = new Map([[1, worker(6, { cpu: 1.6, gc: 5 })], [3, worker(0, { cpu: 0.1, gc: 0 })]]);
    const after = growingSeries(await machine.text());
    expect(before.size).toBeGreaterThan(5);
    for (const [series, value] of before) expect({ series, value: after.get(series)! >= value }).toEqual({ series, value: true });
    expect(sample([...after].map(([key, value]) => `${key} ${value}`).join('\n'), 'switchyard_requests_total{route="/",code="2xx"}')).toBe(9);
  });

  it('does not count twice a worker that exits while a scrape waits for its answer', async () => {
    let answer!: (answers: Map<number, WorkerCounts>) => void;
    let asks = 0;
    const machine = new MachineCounts(primary(), () => (asks++ === 0 ? Promise.resolve(new Map([[1, worker(5)], [2, worker(3)]])) : new Promise((resolve) => (answer = resolve))));
    await machine.text();
    const scrape = machine.text();
    machine.retire(1);
    answer(new Map([[1, worker(7)], [2, worker(4)]]));
    expect(sample(await scrape, 'switchyard_requests_total{route="/",code="2xx"}')).toBe(9);
  });

  it('asks the workers once for scrapes and statuses that come while an ask is out', async () => {
    let asks = 0;
    const machine = new MachineCounts(primary(), async () => (asks++, new Map([[1, worker(5, { inFlight: 2 })], [2, worker(3, { inFlight: 1 })]])));
    const [, , traffic] = await Promise.all([machine.text(), machine.text(), machine.traffic()]);
    expect(asks).toBe(1);
    expect(traffic.inFlight(backend)).toBe(3);
    expect(traffic.lastMinute(backend.id)).toEqual({ requests: 8, errors: 2 });
  });
});
