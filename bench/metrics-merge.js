#!/usr/bin/env node
// What one scrape of the admin listener costs the primary of `serve --workers N`, whose event
// loop also accepts every connection of the machine (node:cluster round-robin): the merge of the
// workers' metrics, from their IPC messages (JSON) to the exposition text. Two ways, on the same
// synthetic series, shaped as src/admin/metrics.ts writes them:
//   before: prom-client's getMetricsAsJSON per worker, merged by AggregatorRegistry.aggregate
//   after:  each worker's text exposition, merged by series text (dist/cli/workers/MetricFamilies.js)
//
// node bench/metrics-merge.js [ROUTES BACKENDS WORKERS]   (default 200 10 8; npm run build first)
import { createRequire } from 'node:module';
import { MetricFamilies } from '../dist/cli/workers/MetricFamilies.js';

const require = createRequire(import.meta.url);
const { AggregatorRegistry } = require('prom-client');

const [routes = 200, backends = 10, workers = 8] = process.argv.slice(2).map(Number);
const CODES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, '+Inf'];

/** One worker's metrics as getMetricsAsJSON gives them. */
function workerJson() {
  const requests = { name: 'switchyard_requests_total', help: 'Requests answered, by route and status class.', type: 'counter', aggregator: 'sum', values: [] };
  const tries = { name: 'switchyard_backend_requests_total', help: 'Tries sent to each backend.', type: 'counter', aggregator: 'sum', values: [] };
  const duration = { name: 'switchyard_request_duration_seconds', help: 'Request duration.', type: 'histogram', aggregator: 'sum', values: [] };
  for (let r = 0; r < routes; r++) {
    const route = `route-${r}`;
    for (const code of CODES) {
      requests.values.push({ labels: { route, code }, value: 17 });
      for (let b = 0; b < backends; b++) tries.values.push({ labels: { route, backend: `10.0.${r % 250}.${b}:8080`, code }, value: 3 });
    }
    for (const le of BUCKETS) duration.values.push({ labels: { le, route }, value: 5, metricName: 'switchyard_request_duration_seconds_bucket' });
    duration.values.push({ labels: { route }, value: 1.5, metricName: 'switchyard_request_duration_seconds_sum' }, { labels: { route }, value: 5, metricName: 'switchyard_request_duration_seconds_count' });
  }
  return [requests, tries, duration];
}

/** The same in the text format, as prom-client's registry.metrics() writes it. */
async function workerText(json) {
  return AggregatorRegistry.aggregate([json]).metrics();
}

const json = workerJson();
const text = await workerText(json);
const jsonMessages = Array.from({ length: workers }, () => JSON.stringify({ type: 'metrics', id: 1, json }));
const textMessages = Array.from({ length: workers }, () => JSON.stringify({ type: 'counts', id: 1, counts: { text, aggregators: {}, inFlight: {}, lastMinute: {} } }));

async function before() {
  const all = jsonMessages.map((message) => JSON.parse(message).json);
  return AggregatorRegistry.aggregate(all).metrics();
}

async function after() {
  const merged = new MetricFamilies();
  for (const message of textMessages) {
    const { counts } = JSON.parse(message);
    merged.add(counts.text, counts.aggregators);
  }
  return merged.text();
}

async function time(name, merge) {
  for (let i = 0; i < 3; i++) await merge();
  const runs = [];
  for (let i = 0; i < 10; i++) {
    const start = performance.now();
    await merge();
    runs.push(performance.now() - start);
  }
  runs.sort((a, b) => a - b);
  console.log(`${name}: median ${runs[5].toFixed(1)} ms, max ${runs[9].toFixed(1)} ms`);
}

const series = text.split('\n').filter((line) => line && !line.startsWith('#')).length;
console.log(`${routes} routes x ${backends} backends, ${workers} workers: ${series} series per worker, ${(text.length / 1024).toFixed(0)} KiB of text each`);
const [a, b] = [await before(), await after()];
if (a.split('\n').filter((line) => line && !line.startsWith('#')).length !== b.split('\n').filter((line) => line && !line.startsWith('#')).length) throw new Error('the two merges disagree on the series');
await time('before (AggregatorRegistry.aggregate)', before);
await time('after (MetricFamilies, by series text)', after);
