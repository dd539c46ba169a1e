import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The kernel's ephemeral range, from which `listen(0)` and every outgoing connection of the suite
 * draw their ports. Linux's default when the file cannot be read.
 */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

const LOWEST = 10_000;
const BELOW = ephemeralLow();

/**
 * A port free now on 127.0.0.1, for a process the test starts to listen on later. It is chosen at
 * random below the ephemeral range: a port from `listen(0)` then closed comes from that range, and
 * a client connection elsewhere in the suite took one before the balancer bound it ("address
 * already in use", a failed CI run). Below the range only another pick like this one can collide.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (BELOW - LOWEST));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found between ${LOWEST} and ${BELOW - 1} on 127.0.0.1`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
