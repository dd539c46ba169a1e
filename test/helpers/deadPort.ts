import { freePort } from './freePort.ts';

/**
 * A loopback port with nothing listening on it: a backend that refuses connections. Outside the
 * ephemeral range (freePort), so no server of the suite that listens on port 0 lands on it later.
 */
export async function deadPort(): Promise<number> {
  return freePort();
}
