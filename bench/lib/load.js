// The load generator, identical for every candidate: wrk when installed (it is written in C and
// costs the shared CPU less than a Node client), else autocannon in-process.
import autocannon from 'autocannon';
import { startChild, waitForOutput, stopChild } from './children.js';
import { which } from './tools.js';

/** 'wrk' or 'autocannon'; BENCH_TOOL=autocannon forces the fallback even when wrk is there. */
export function loadTool() {
  if (process.env.BENCH_TOOL === 'autocannon') return 'autocannon';
  return which('wrk') ? 'wrk' : 'autocannon';
}

/**
 * Drives `url` for `seconds` with `connections` keep-alive connections.
 * @returns {Promise<{ reqPerSec: number, p50Ms: number, p99Ms: number, requests: number,
 *   errors: number, non2xx: number, socketErrors: number, tool: string }>}
 */
export function drive({ url, headers = {}, seconds, connections = 50 }) {
  return loadTool() === 'wrk' ? driveWrk({ url, headers, seconds, connections }) : driveAutocannon({ url, headers, seconds, connections });
}

async function driveWrk({ url, headers, seconds, connections }) {
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  // One thread: the machine has two cores, and the balancer and the backends need the rest.
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', ...headerArgs, url];
  const record = startChild(which('wrk'), args, { name: 'wrk' });
  try {
    await waitForOutput(record, /Transfer\/sec:.*\n/, (seconds + 15) * 1000);
  } finally {
    await stopChild(record, 1000);
  }
  return parseWrk(record.stdout);
}

/** Reads wrk's `--latency` report. Exported for a quick check against a saved output. */
export function parseWrk(text) {
  const number = (pattern) => {
    const match = text.match(pattern);
    return match ? Number(match[1]) : 0;
  };
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  // wrk counts anything outside 2xx/3xx here; the backends only ever answer 200, so any such
  // response is an error the balancer made (404, 502, 503...).
  const non2xx = number(/Non-2xx or 3xx responses: (\d+)/);
  return {
    tool: 'wrk',
    reqPerSec: number(/Requests\/sec:\s+([\d.]+)/),
    requests: number(/(\d+) requests in/),
    p50Ms: wrkDuration(text, '50%'),
    p99Ms: wrkDuration(text, '99%'),
    non2xx,
    socketErrors,
    errors: non2xx + socketErrors,
  };
}

function wrkDuration(text, percentile) {
  const match = text.match(new RegExp(`^\\s*${percentile}\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm'));
  if (!match) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2]];
  return Number(match[1]) * scale;
}

function driveAutocannon({ url, headers, seconds, connections }) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, headers, connections, duration: seconds, timeout: 5 }, (error, result) => {
      clearTimeout(guard);
      if (error) return reject(error);
      const non2xx = result.non2xx ?? 0;
      // autocannon's `errors` already includes its timeouts.
      const socketErrors = result.errors ?? 0;
      resolve({
        tool: 'autocannon',
        reqPerSec: result.requests.average,
        requests: result.requests.total,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx,
        socketErrors,
        errors: non2xx + socketErrors,
      });
    });
    // autocannon stops itself after `duration`; this only guards against a wedged run.
    const guard = setTimeout(() => {
      instance.stop();
      reject(new Error(`autocannon did not finish within ${seconds + 15} s`));
    }, (seconds + 15) * 1000);
  });
}
