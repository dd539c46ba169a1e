// `npm start`: the tutorial's demo. Starts the four demo backends in this process, then the
// balancer on 127.0.0.1:8080 with examples/loadbalancer.yaml (reloaded when the file changes),
// its access log in text and the status page on 127.0.0.1:9901, and prints a few requests to try.
import { fileURLToPath } from 'node:url';
import { DEAD_ON_PURPOSE, DEMO_BACKENDS, startDemoBackend } from './backends.js';
import { serveConfig } from '../dist/cli/serveConfig.js';
import { stopWithNpm } from '../dist/cli/stopWithNpm.js';

const file = fileURLToPath(new URL('./loadbalancer.yaml', import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const adminPort = Number(process.env.ADMIN_PORT ?? 9901);

const backends = await Promise.all(DEMO_BACKENDS.map(startDemoBackend));
for (const { name, port } of DEMO_BACKENDS) console.log(`demo backend ${name} on http://127.0.0.1:${port}`);
console.log(`The tutorial's apple pool also names ${DEAD_ON_PURPOSE.join(' and ')}, where nothing listens on purpose:
the health checks report them DOWN below, and www.apple.com is served by apple1 alone.
`);

const balancer = await serveConfig({
  file,
  port,
  hostname: '127.0.0.1',
  accessLog: 'text',
  admin: { host: '127.0.0.1', port: adminPort },
  watch: true,
  env: (name) => process.env[name],
  log: (line) => console.error(line),
}).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
console.log(`listening on ${balancer.url}
The status page: ${balancer.adminUrl}/status (metrics at ${balancer.adminUrl}/metrics)

Try:
  curl -H 'Host: www.mango.com' ${balancer.url}/
  curl -H 'Host: www.mango.com' '${balancer.url}/v1?RemoveMe=Remove'
  curl -H 'Host: www.mango.com' ${balancer.url}/messages   # 403, firewalled
  curl -H 'Host: www.apple.com' ${balancer.url}/
  curl ${balancer.url}/mango
  curl -H 'Host: www.pear.com' ${balancer.url}/           # 404
Each request is logged below. Edit examples/loadbalancer.yaml and the change is served at once.
Stop with Ctrl-C.
`);

const stop = async () => {
  await balancer.stop(5_000);
  await Promise.all(backends.map((server) => new Promise((resolve) => server.close(resolve))));
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// `npm start` exits on SIGTERM without passing it on: stop when it has gone.
stopWithNpm(stop);
