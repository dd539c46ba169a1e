// The tutorial's demo backends: small apps that say who they are, with the GET /healthcheck the
// series probes. Plain node:http so the demo needs nothing but Node.
import { createServer } from 'node:http';

/** The demo's four backends, as in the tutorial: two "mango", two "apple". */
export const DEMO_BACKENDS = [
  { name: 'mango1', app: 'mango', port: 8081 },
  { name: 'mango2', app: 'mango', port: 8082 },
  { name: 'apple1', app: 'apple', port: 9081 },
  { name: 'apple2', app: 'apple', port: 9082 },
];

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
