// The upstream servers every candidate balances over: two `node:http` servers in one child
// process, so their work is not billed to the harness's event loop (the load generator's results
// are read there) nor to the balancer under test.
//
//   any path         -> 200 with a small fixed body (the throughput and routes scenarios)
//   GET  /bytes/N    -> N bytes, generated chunk by chunk with backpressure, never buffered
//   POST /sink       -> reads and counts the upload without keeping it, answers {"bytes": N}
//
// It prints one line `backends PORT1 PORT2` when both listen. Over IPC it answers 'stats' with the
// request counts (so a scenario can see how much health-check traffic a balancer adds), and it
// exits when the harness goes away (IPC disconnect), even if the harness was SIGKILLed.
import http from 'node:http';

const BODY = Buffer.from('Hello, world\n');
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const counts = { requests: 0, healthchecks: 0 };

function handle(req, res) {
  counts.requests += 1;
  if (req.url === '/healthcheck') counts.healthchecks += 1;

  const bytes = req.method === 'GET' && /^\/bytes\/(\d+)$/.exec(req.url);
  if (bytes) return sendBytes(res, Number(bytes[1]));
  if (req.method === 'POST' && req.url.startsWith('/sink')) return countUpload(req, res);

  // Drain any request body so the keep-alive connection stays usable.
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
}

function sendBytes(res, total) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      // write() returning false means the socket buffer is full: wait for 'drain' instead of
      // queueing, so memory stays flat however slow the balancer reads.
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => { left = 0; });
  pump();
}

function countUpload(req, res) {
  let bytes = 0;
  req.on('data', (chunk) => { bytes += chunk.length; });
  req.on('end', () => {
    const body = JSON.stringify({ bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function listen() {
  // Room for the 16 KiB request-targets of the `longpath` scenario (Node's default head is 16 KiB).
  const server = http.createServer({ keepAlive: true, maxHeaderSize: 64 * 1024 }, handle);
  // Longer than any balancer's idle upstream timeout, so a pooled connection is never closed
  // by the backend at the moment the balancer reuses it (that race shows up as 502s).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  // A 1 GiB upload through a slow balancer may take a while; the harness has its own timeouts.
  server.requestTimeout = 0;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

const ports = await Promise.all([listen(), listen()]);
console.log(`backends ${ports.join(' ')}`);

process.on('message', (message) => {
  if (message === 'stats') process.send({ ...counts });
});
process.on('disconnect', () => process.exit(0));
