#!/usr/bin/env node
// A flood of wrong passwords against a `basic_auth` route, and what it does to everything else:
// the balancer's event-loop lag (a 10 ms timer in its main thread) and the latency of a plain
// route beside it, idle and then under the flood. Needs `npm run build` first.
//
//   node bench/password-flood.js [--runtime node|deno] [--seconds 3] [--flooders 16] [--cost 10]
//
// Standalone (not part of `npm run bench`): a few seconds, loopback only, nothing saved.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import bcrypt from 'bcryptjs';
import { repoRoot } from './lib/paths.js';
import { denoBinary } from './lib/tools.js';

const { values } = parseArgs({ options: { runtime: { type: 'string', default: 'node' }, seconds: { type: 'string', default: '3' }, flooders: { type: 'string', default: '16' }, cost: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);

// The lag probe, preloaded into the balancer's main thread (a preload runs in worker threads too:
// not there): how often a 10 ms timer fired and its worst delay, each second.
const PROBE = `import { isMainThread } from 'node:worker_threads';
if (isMainThread) {
  let last = performance.now(), worst = 0, fired = 0;
  setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last - 10); fired++; last = now; }, 10).unref();
  setInterval(() => { process.stderr.write('lag ' + JSON.stringify({ fired, worst: Math.round(worst) }) + '\\n'); worst = 0; fired = 0; }, 1000).unref();
}`;

const backend = http.createServer((request, response) => response.end('ok'));
await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve));
const dir = mkdtempSync(join(tmpdir(), 'password-flood-'));
const config = join(dir, 'switchyard.yaml');
const hash = bcrypt.hashSync('right', Number(values.cost));
writeFileSync(config, `paths:
  - path: /secret
    basic_auth: { users: { alice: "${hash}" } }
    servers: [127.0.0.1:${backend.address().port}]
  - path: /
    servers: [127.0.0.1:${backend.address().port}]
`);

const command = values.runtime === 'deno'
  ? [denoBinary(), ['run', '-A', `--config=${join(repoRoot, 'deno.json')}`, '--preload', `data:text/javascript,${encodeURIComponent(PROBE)}`, join(repoRoot, 'src/deno.ts'), 'serve', '--config', config, '--port', '0', '--access-log', 'off']]
  : [process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(PROBE)}`, join(repoRoot, 'dist/cli.js'), 'serve', '--config', config, '--port', '0', '--access-log', 'off']];
const balancer = spawn(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'] });
const lags = [];
balancer.stderr.on('data', (chunk) => {
  for (const line of String(chunk).split('\n')) if (line.startsWith('lag ')) lags.push(JSON.parse(line.slice(4)));
});
const url = await new Promise((resolve, reject) => {
  let out = '';
  balancer.stdout.on('data', (chunk) => {
    out += chunk;
    const found = /listening on (http:\/\/\S+)/.exec(out);
    if (found) resolve(found[1]);
  });
  balancer.on('exit', (code) => reject(new Error(`the balancer exited (${code})`)));
});
const agent = new http.Agent({ keepAlive: true });

function get(path, headers = {}) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http.get(url + path, { agent, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode, ms: performance.now() - started }));
    }).on('error', reject);
  });
}

/** The plain route's latency for `seconds`, one request at a time, and the lag seconds meanwhile. */
async function measure() {
  lags.length = 0;
  const times = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    times.push((await get('/plain')).ms);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
  const lag = lags.slice(1);
  return { plain: { requests: times.length, median: at(0.5), p99: at(0.99), max: times.at(-1).toFixed(1) }, timerFiresPerSecond: lag.map((l) => l.fired), worstLagMs: Math.max(...lag.map((l) => l.worst)) };
}

try {
  await get('/plain');
  console.log(`${values.runtime}, bcrypt cost ${values.cost}, ${values.flooders} flooders, ${seconds} s per phase`);
  console.log('idle ', JSON.stringify(await measure()));
  let flooding = true;
  const answers = {};
  let guess = 0;
  const flooders = Array.from({ length: Number(values.flooders) }, async () => {
    while (flooding) {
      const { status } = await get('/secret', { authorization: `Basic ${btoa(`alice:guess${guess++}`)}` });
      answers[status] = (answers[status] ?? 0) + 1;
    }
  });
  const flood = await measure();
  flooding = false;
  await Promise.all(flooders);
  console.log('flood', JSON.stringify({ ...flood, floodAnswers: answers }));
} finally {
  balancer.kill();
  agent.destroy();
  backend.close();
  rmSync(dir, { recursive: true, force: true });
}
