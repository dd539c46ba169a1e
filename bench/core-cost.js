// The core's own cost per request, without sockets: `admit` + `forwardAdmitted` against an
// upstream that answers at once from memory, for the plain config and the tutorial's rules.
// Nanoseconds per request on one core; the rest of a request's cost is node:http, undici and
// the kernel (docs/performance.md). Needs `npm run build`.
// Usage: node bench/core-cost.js [requests, default 300000]
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { repoRoot } from './lib/paths.js';
import { pathsConfig, tutorialConfig, TUTORIAL_HOST } from './lib/switchyard-config.js';

const dist = (path) => import(pathToFileURL(join(repoRoot, 'dist', path)).href);
const { loadConfig } = await dist('core/config/loadConfig.js');
const { admit, forwardAdmitted, isAdmitted } = await dist('core/proxy/admit.js');
const { FieldList } = await dist('core/http/FieldList.js');
const { nodeBodies } = await dist('server/nodeWire.js');
const { ErrorLog } = await dist('core/ErrorLog.js');

const count = Number(process.argv[2] ?? 300_000);
const servers = ['127.0.0.1:1', '127.0.0.1:2'];
// No probes: nothing here may open a socket.
const noProbes = (yaml) => yaml.replace(/servers: (.*)\n/, 'servers: $1\n    health_check: false\n');
const body = new Uint8Array(13);
const upstream = async () => ({ status: 200, headers: new FieldList(['content-type', 'text/plain', 'content-length', '13', 'connection', 'keep-alive', 'keep-alive', 'timeout=5']), body });
const transport = { upstream, bodies: nodeBodies, signal: { aborted: false }, errorLog: new ErrorLog(() => {}) };

async function measure(name, config, host) {
  const raw = ['Host', host, 'User-Agent', 'wrk'];
  const once = async () => {
    const admitted = admit(config, { method: 'GET', target: '/', headers: FieldList.fromRaw(raw), scheme: 'http', peer: '127.0.0.1', body: null });
    if (!isAdmitted(admitted)) throw new Error(`${name}: refused with ${admitted.status}`);
    return forwardAdmitted(admitted, transport);
  };
  for (let i = 0; i < 20_000; i += 1) await once(); // warm-up: let the JIT settle
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await once();
  const ns = Number(process.hrtime.bigint() - start) / count;
  console.log(`${name.padEnd(10)} ${ns.toFixed(0).padStart(6)} ns per request (${count} requests)`);
}

await measure('plain', loadConfig(noProbes(pathsConfig(servers)), 'plain.yaml'), '127.0.0.1');
await measure('tutorial', loadConfig(noProbes(tutorialConfig(servers)), 'tutorial.yaml'), TUTORIAL_HOST);
