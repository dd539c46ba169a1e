// The tutorial's demo backends: small apps that say who they are, with the GET /healthcheck the
// series probes. Plain node:http so the demo needs nothing but Node.
import { createServer } from 'node:http';

/**
 * The demo's backends, named and served as the tutorial's loadbalancer.yaml uses them: its mango
 * pool is 8081, 8082 and 9081; its apple pool is 9082 and two addresses where nothing listens on
 * purpose (9999 and 8888), to show that dead backends are skipped.
 */
export const DEMO_BACKENDS = [
  { name: 'mango1', app: 'mango', port: 8081 },
  { name: 'mango2', app: 'mango', port: 8082 },
  { name: 'mango3', app: 'mango', port: 9081 },
  { name: 'apple1', app: 'apple', port: 9082 },
];

/** The apple pool's backends that the tutorial leaves dead on purpose. */
export const DEAD_ON_PURPOSE = ['localhost:9999', 'localhost:8888'];

/**
 * Starts one demo backend on 127.0.0.1. Resolves with its node:http server once listening.
 * Every path answers `This is the <app> application.` and names the backend in `X-Served-By`.
 */
export function startDemoBackend({ name, app, port, hostname = '127.0.0.1' }) {
  const server = createServer((req, res) => {
    if (req.url === '/healthcheck') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-served-by': name });
    res.end(`This is the ${app} application. (${name}: ${req.method} ${req.url}, Host: ${req.headers.host})\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve(server));
  });
}
