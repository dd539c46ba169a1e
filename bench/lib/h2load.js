// h2load (Debian's nghttp2-client) as the HTTP/2 load generator: `-c` connections with `-m`
// concurrent streams each, for a fixed time (`-D`), one thread.
import { startChild, waitForOutput, stopChild } from './children.js';
import { which } from './tools.js';

/**
 * Drives `url` over h2 for `seconds`.
 * @returns {Promise<{ tool: string, reqPerSec: number, requests: number, meanMs: number,
 *   errors: number, tlsProtocol: string | null }>}
 */
export async function driveH2load({ url, seconds, connections = 10, streams = 5 }) {
  const h2load = which('h2load');
  if (!h2load) throw new Error('h2load is not installed (apt-get install nghttp2-client)');
  const args = ['-t1', `-c${connections}`, `-m${streams}`, '-D', String(seconds), url];
  const record = startChild(h2load, args, { name: 'h2load' });
  try {
    await waitForOutput(record, /time for request:.*\n/, (seconds + 15) * 1000);
  } finally {
    await stopChild(record, 1000);
  }
  return parseH2load(record.stdout);
}

/** Reads h2load's summary. Exported for a quick check against a saved output. */
export function parseH2load(text) {
  const number = (pattern) => {
    const match = text.match(pattern);
    return match ? Number(match[1]) : NaN;
  };
  const counts = text.match(/requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/);
  const status = text.match(/status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/);
  const failed = counts ? Number(counts[5]) + Number(counts[6]) + Number(counts[7]) : NaN;
  const non2xx = status ? Number(status[3]) + Number(status[4]) : 0;
  const meanUnit = text.match(/time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/);
  return {
    tool: 'h2load',
    reqPerSec: number(/finished in [\d.]+m?s, ([\d.]+) req\/s/),
    requests: counts ? Number(counts[4]) : NaN,
    meanMs: meanUnit ? Number(meanUnit[1]) * { us: 0.001, ms: 1, s: 1000 }[meanUnit[2]] : NaN,
    errors: failed + non2xx,
    tlsProtocol: text.match(/TLS Protocol: (\S+)/)?.[1] ?? null,
    alpn: text.match(/Application protocol: (\S+)/)?.[1] ?? null,
  };
}
