import { randomBytes, scryptSync } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePasswordHash, type PasswordHash } from '../../src/core/gates/passwordHash.ts';
import type { ThreadedPasswordChecks as Checks } from '../../src/server/ThreadedPasswordChecks.ts';
import { PROJECT_ROOT, startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';

// The built module (`npm run build` first): Node 20 runs no TypeScript in a worker thread.
const built = pathToFileURL(join(PROJECT_ROOT, 'dist/server/ThreadedPasswordChecks.js')).href;
const { ThreadedPasswordChecks } = (await import(built)) as { ThreadedPasswordChecks: typeof Checks };

// basic_auth's password checks on Node run on worker threads (docs/edge-middleware.md): a flood of
// wrong passwords leaves the event loop free. Nothing here is timed: it counts what got a turn.

const hashOf = (text: string) => parsePasswordHash(text) as PasswordHash;
const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

describe('ThreadedPasswordChecks', () => {
  it('checks bcrypt and scrypt hashes on a thread, with the verdicts of the inline checks', async () => {
    const checks = new ThreadedPasswordChecks(1);
    const salt = randomBytes(16);
    const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
    const scrypt = hashOf(`$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(scryptSync('secret', salt, 32, { N: 2 ** 10, r: 8, p: 1 }))}`);
    const bcryptHash = hashOf(bcrypt.hashSync('secret', 4));
    const verdicts = await Promise.all([checks.tryCheck('secret', bcryptHash), checks.tryCheck('Secret', bcryptHash), checks.tryCheck('secret', scrypt), checks.tryCheck('secret!', scrypt)]);
    expect(verdicts).toEqual([true, false, true, false]);
    await checks.close();
  });

  it('keeps at most `max` checks in hand, refusing the rest unchecked, and lets the event loop turn while they run', async () => {
    const checks = new ThreadedPasswordChecks(1, 3);
    const hash = hashOf(bcrypt.hashSync('right', 10));
    const running = [1, 2, 3].map((i) => checks.tryCheck(`wrong${i}`, hash));
    expect(checks.tryCheck('wrong4', hash)).toBeUndefined();
    let turns = 0;
    let done = false;
    const all = Promise.all(running).finally(() => (done = true));
    // Three bcrypt-10 checks, each tens to hundreds of ms of CPU: inline (bcryptjs's 100 ms slices)
    // the loop would turn a few times in all; on a thread, it turns freely.
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
    expect(await all).toEqual([false, false, false]);
    expect(turns).toBeGreaterThan(100);
    expect(checks.inProgress).toBe(0);
    await checks.close();
  });
});

describe('a flood of wrong passwords through the balancer', () => {
  let backend: TestBackend;
  let balancer: RunningBalancer;
  beforeAll(async () => {
    backend = await startTestBackend();
    balancer = await startBalancer(`paths:
  - path: /secret
    basic_auth: { users: { alice: "${bcrypt.hashSync('right', 11)}" } }
    servers: [${backend.address}]
  - path: /
    servers: [${backend.address}]
`);
  });
  afterAll(async () => {
    await balancer?.stop();
    await backend?.close();
  });

  it('leaves a plain route answering while the checks run', async () => {
    let checking = true;
    const flood = Promise.all([1, 2, 3, 4].map((i) => fetch(`${balancer.url}/secret`, { headers: { authorization: basic('alice', `guess${i}`) } }).then((response) => response.status))).finally(() => (checking = false));
    let plain = 0;
    while (checking) {
      const response = await fetch(`${balancer.url}/plain`);
      expect(response.status).toBe(200);
      await response.text();
      plain++;
    }
    expect(await flood).toEqual([401, 401, 401, 401]);
    // Four bcrypt-11 checks take a second or more of CPU; inline, the plain route got a turn only
    // between their 100 ms slices (a handful of answers in all).
    expect(plain).toBeGreaterThan(20);
  });
});
