// The node-http-proxy reference: the classic Node reverse proxy, round-robin over the backends
// with a keep-alive agent, i.e. what a hand-written Node balancer on `node:http` achieves.
// Usage: node http-proxy.js HOST:PORT [HOST:PORT...]; prints `listening on http://HOST:PORT`.
import http from 'node:http';
import httpProxy from 'http-proxy';

const targets = process.argv.slice(2).map((server) => `http://${server}`);
if (targets.length === 0) {
  console.error('usage: http-proxy.js HOST:PORT [HOST:PORT...]');
  process.exit(2);
}

// Without keepAlive every proxied request would open a new upstream connection, which measures
// the kernel's connect() rather than the proxy.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
proxy.on('error', (error, req, res) => {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
  res.end(`Bad Gateway: ${error.message}\n`);
});

let next = 0;
const server = http.createServer({ keepAlive: true }, (req, res) => {
  const target = targets[next];
  next = (next + 1) % targets.length;
  proxy.web(req, res, { target });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(0, '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
