// The server bench/spread.js measures: it answers every request with its pid and counts them, so
// the harness can see how evenly one way of sharing a listening port spreads requests over
// processes. It is deliberately not Switchyard: the question is the sharing mechanism.
//
//   node|deno pid-server.js cluster PORT WORKERS   node:cluster, with the scheduling policy that
//                                                  NODE_CLUSTER_SCHED_POLICY names: rr (the primary
//                                                  accepts) or none (the workers accept)
//   deno pid-server.js reuseport PORT              one process, node:http listen({ reusePort: true });
//                                                  start it twice (Node 20 refuses the second bind)
//
// A cluster primary prints `policy rr|none`, the policy in effect. Every serving process prints
// `listening PID` once it listens. On SIGUSR2 it prints `served SEQ PID REQUESTS CONNECTIONS`
// (SEQ = how many times it was asked) and counts from zero again, so the harness reads the counts
// of one run without restarting the servers between runs. Connections say what the sharing
// mechanism did; requests on kept-alive connections also depend on how much CPU each process got.
//
// GET /drain stands for a worker that is busy and then drains: the process that gets it runs for
// STALL_MS without answering anything (connections meant for it wait), then closes its listening
// socket and answers. What happens to the connections that waited for it is the question.
import cluster from 'node:cluster';
import http from 'node:http';
import process from 'node:process';

const [mode, portText, workersText] = process.argv.slice(2);
const port = Number(portText);
const BODY = `${process.pid}\n`;
const STALL_MS = 1000;
let served = 0;
let connections = 0;
let reports = 0;

function countOnSignal() {
  process.on('SIGUSR2', () => {
    reports += 1;
    console.log(`served ${reports} ${process.pid} ${served} ${connections}`);
    served = 0;
    connections = 0;
  });
}

function serveWithNodeHttp(listenOptions) {
  countOnSignal();
  const server = http.createServer((req, res) => {
    served += 1;
    if (req.url === '/drain') drain(server);
    res.end(BODY);
  });
  server.on('connection', () => {
    connections += 1;
  });
  server.listen(listenOptions, () => console.log(`listening ${process.pid}`));
}

function drain(server) {
  const until = Date.now() + STALL_MS;
  while (Date.now() < until) {
    // Busy on purpose: the event loop accepts nothing meanwhile, as under a long synchronous task.
  }
  server.close();
}

if (mode === 'cluster' && cluster.isPrimary) {
  console.log(`policy ${cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none'}`);
  // The harness signals each serving pid, but a stray SIGUSR2 must not kill the primary.
  process.on('SIGUSR2', () => {});
  for (let i = 0; i < Number(workersText); i += 1) cluster.fork();
} else if (mode === 'cluster') {
  serveWithNodeHttp({ port, host: '127.0.0.1' });
} else if (mode === 'reuseport') {
  serveWithNodeHttp({ port, host: '127.0.0.1', reusePort: true });
} else {
  console.error(`usage: pid-server.js cluster|reuseport PORT [WORKERS]`);
  process.exit(2);
}
