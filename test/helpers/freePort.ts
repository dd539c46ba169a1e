import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Where ports for the test's own listeners are picked: outside the kernel's ephemeral range, from
 * which `listen(0)` and every outgoing connection of the suite draw their ports. Below it when
 * there is room (Linux's default range starts at 32768), else above it.
 */
function pickRange(): readonly [number, number] {
  let low = 32768;
  let high = 60999;
  try {
    [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    // Not Linux: its default is as good a guess as any.
  }
  if (low - 10_000 >= 4_000) return [10_000, low];
  if (65_536 - (high + 1) >= 4_000) return [high + 1, 65_536];
  throw new Error(`the ephemeral port range ${low}-${high} leaves no room for the tests' own ports`);
}

const [FROM, TO] = pickRange();
/** Each vitest worker picks from its own slice, so two test files running at once never pick the same port. */
const SLICES = 8;
const slice = (Number(process.env.VITEST_POOL_ID) || 1) % SLICES;
const SLICE_SIZE = Math.floor((TO - FROM) / SLICES);
const SLICE_FROM = FROM + slice * SLICE_SIZE;
/** Ports this worker has handed out: never twice, though the first user may have let it go. */
const handedOut = new Set<number>();

/**
 * A port free now on 127.0.0.1, for a process the test starts to listen on later (or for a
 * backend nothing listens on: deadPort). Not from `listen(0)`: such a port, closed, comes from
 * the ephemeral range, and a client connection elsewhere in the suite took one before the
 * balancer bound it ("address already in use", a failed CI run).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = SLICE_FROM + Math.floor(Math.random() * SLICE_SIZE);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found between ${SLICE_FROM} and ${SLICE_FROM + SLICE_SIZE - 1} on 127.0.0.1`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
