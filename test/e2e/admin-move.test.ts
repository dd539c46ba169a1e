import { writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/freePort.ts';
import { serveProcess, type ServeProcess } from '../helpers/serveProcess.ts';
import { waitFor } from '../helpers/waitFor.ts';

// A reload that moves the admin listener and sets a token binds the new address before the swap
// (so an address that cannot be had refuses the reload): from the moment it is bound it asks for
// the new token, even while the reload is still probing a new backend.

const TOKEN = 'a-token-of-twenty-chars';
let silent: Server;
let served: ServeProcess;

beforeAll(async () => {
  // A backend that accepts connections and never answers: its first probe takes the whole timeout.
  silent = createNetServer(() => {}).listen(0, '127.0.0.1');
  await new Promise((resolve) => silent.once('listening', resolve));
}, 10_000);

afterAll(async () => {
  await served?.stop();
  silent?.close();
});

describe('moving the admin listener by a reload', () => {
  it('asks for the new config token on the new address as soon as it is bound, before the swap', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const slow = (silent.address() as AddressInfo).port;
    served = await serveProcess('node', `admin: { address: 127.0.0.1:${first} }\npaths:\n  - path: /\n    servers: [127.0.0.1:${slow}]\n    health_check: false\n`, { admin: true });
    writeFileSync(
      served.file,
      `admin: { address: 127.0.0.1:${second}, token: ${TOKEN} }\npaths:\n  - path: /\n    servers: [127.0.0.1:${slow}]\n    health_check: false\n  - path: /new\n    servers: [http://127.0.0.1:${slow}/new]\n    health_check: { interval: 1s, timeout: 3s }\n`,
    );
    served.hangUp();
    // The new listener is bound while the new backend's first probe waits out its 3 s.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${second}/api/status`).catch(() => undefined)) !== undefined, 3_000, `the new admin listener to be bound:\n${served.stderr()}`);
    expect(served.stderr()).not.toMatch(/config reloaded/);
    expect((await fetch(`http://127.0.0.1:${second}/api/status`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${second}/api/backends/127.0.0.1:${slow}/drain`, { method: 'POST' })).status).toBe(401);
    await waitFor(() => /config reloaded/.test(served.stderr()), 6_000, 'the reload to finish');
    expect((await fetch(`http://127.0.0.1:${second}/api/status`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${second}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  }, 20_000);
});
