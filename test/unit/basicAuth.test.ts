import { randomBytes, scryptSync } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { ErrorLog } from '../../src/core/ErrorLog.ts';
import { FieldList } from '../../src/core/http/FieldList.ts';
import type { Exchange, GateContext, OutgoingRequest } from '../../src/core/Route.ts';
import { basicAuthGate } from '../../src/core/gates/basicAuth.ts';
import { InlinePasswordChecks } from '../../src/core/gates/InlinePasswordChecks.ts';
import { parsePasswordHash, verifyPassword, type PasswordHash } from '../../src/core/gates/passwordHash.ts';
import type { PasswordChecks } from '../../src/core/gates/PasswordChecks.ts';
import type { WebWire } from '../../src/core/Upstream.ts';
import { webBodies } from '../../src/core/proxy/webBodies.ts';

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
const hashOf = (text: string) => parsePasswordHash(text) as PasswordHash;

function exchangeWith(authorization: string): { exchange: Exchange; outgoing: OutgoingRequest<WebWire> } {
  const headers = new FieldList(['authorization', authorization]);
  const exchange = { method: 'GET', headers, scheme: 'http', clientAddress: '192.0.2.1', host: 'a.test', path: '/', query: '', requestId: 'r', route: { name: 'a.test' } } as unknown as Exchange;
  return { exchange, outgoing: { method: 'GET', path: '/', query: '', headers: FieldList.copyOf(headers), body: null } };
}

const lines: string[] = [];
const context: GateContext<WebWire> = { subrequest: () => Promise.reject(new Error('unused')), bodies: webBodies, signal: new AbortController().signal, errorLog: new ErrorLog((line) => lines.push(line)) };

describe('password hashes', () => {
  it('verifies bcrypt hashes of each prefix htpasswd and others write ($2a$, $2b$, $2y$)', async () => {
    const hash = bcrypt.hashSync('secret', 4);
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const parsed = hashOf(prefix + hash.slice(4));
      expect(await verifyPassword('secret', parsed)).toBe(true);
      expect(await verifyPassword('Secret', parsed)).toBe(false);
    }
  });

  it("verifies scrypt hashes in the PHC format, as docs/edge-middleware.md's one-line node:crypto command makes them", async () => {
    // The docs' command, with a smaller N to keep the test quick.
    const salt = randomBytes(16);
    const key = scryptSync('secret', salt, 32, { N: 2 ** 10, r: 8, p: 1, maxmem: 64 * 2 ** 20 });
    const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
    const text = `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(key)}`;
    expect(await verifyPassword('secret', hashOf(text))).toBe(true);
    expect(await verifyPassword('secret!', hashOf(text))).toBe(false);
  });

  it('refuses plain passwords, other schemes and costs that would busy the balancer, naming the fix', () => {
    expect(parsePasswordHash('correct horse')).toMatch(/^this is not a bcrypt or scrypt hash, and plain passwords are refused; make one with `htpasswd -nbB USER PASSWORD` \(bcrypt\), or as docs\/edge-middleware.md shows$/);
    expect(parsePasswordHash('$apr1$abc$def')).toMatch(/^MD5-crypt hash cannot be used/);
    expect(parsePasswordHash(bcrypt.hashSync('x', 4).replace('$04$', '$13$'))).toMatch(/^a bcrypt cost of 13 is outside 4-12/);
    expect(parsePasswordHash('$scrypt$ln=20,r=8,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5')).toMatch(/out of bounds/);
    // Within the memory bound, but N >= 2^(16 r), which node:crypto refuses at every check.
    expect(parsePasswordHash('$scrypt$ln=16,r=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5')).toMatch(/^scrypt parameters ln=16,r=1 break N < 2\^\(16 r\)/);
    expect(() => scryptSync('x', 'saltsalt', 32, { N: 2 ** 16, r: 1, p: 1, maxmem: 64 * 2 ** 20 })).toThrow();
  });
});

describe('basic_auth under a flood of wrong passwords', () => {
  it('checks at most `max` passwords at once, answers the rest 503 unchecked, and still lets a known user in from the cache', async () => {
    const checks = new InlinePasswordChecks(4);
    const gate = basicAuthGate({ realm: 'R', users: new Map([['alice', hashOf(bcrypt.hashSync('right', 4))]]), forwardAuthorization: false }, checks);
    const right = exchangeWith(basic('alice', 'right'));
    expect(await gate.pass(right.exchange, right.outgoing, context)).toBeUndefined();

    let mostAtOnce = 0;
    const flood = Array.from({ length: 2000 }, (_, i) => {
      const wrong = exchangeWith(basic('alice', `guess${i}`));
      const verdict = gate.pass(wrong.exchange, wrong.outgoing, context);
      mostAtOnce = Math.max(mostAtOnce, checks.inProgress);
      return verdict;
    });
    // Meanwhile the right password is answered from the cache, without waiting for a place.
    const again = exchangeWith(basic('alice', 'right'));
    expect(await gate.pass(again.exchange, again.outgoing, context)).toBeUndefined();

    const statuses = (await Promise.all(flood)).map((answer) => answer?.status);
    expect(mostAtOnce).toBe(4);
    expect(statuses.filter((status) => status === 401)).toHaveLength(4);
    expect(statuses.filter((status) => status === 503)).toHaveLength(1996);
    expect(checks.inProgress).toBe(0);
  });

  it('checks the same credentials sent by many requests at once only once', async () => {
    const checks = new InlinePasswordChecks(1);
    const gate = basicAuthGate({ realm: 'R', users: new Map([['alice', hashOf(bcrypt.hashSync('right', 4))]]), forwardAuthorization: false }, checks);
    const verdicts = await Promise.all(Array.from({ length: 50 }, () => {
      const { exchange, outgoing } = exchangeWith(basic('alice', 'right'));
      return gate.pass(exchange, outgoing, context);
    }));
    expect(verdicts.every((verdict) => verdict === undefined)).toBe(true);
  });

  it('refuses a huge Authorization header unchecked', async () => {
    const checks = new InlinePasswordChecks(1);
    const gate = basicAuthGate({ realm: 'R', users: new Map([['alice', hashOf(bcrypt.hashSync('right', 4))]]), forwardAuthorization: false }, checks);
    const { exchange, outgoing } = exchangeWith(basic('alice', 'x'.repeat(100_000)));
    const started = performance.now();
    expect((await gate.pass(exchange, outgoing, context))?.status).toBe(401);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('basic_auth and user names', () => {
  it("checks a name the config does not know against the costliest of the users' hashes, whatever their order or kind", async () => {
    const cheap = hashOf(bcrypt.hashSync('a', 4));
    const costly = hashOf(bcrypt.hashSync('b', 6));
    const salt = randomBytes(16);
    const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
    // scrypt ln=13,r=8 costs about 2^13 x 8 / 128 = 512 bcrypt rounds: more than cost 6's 64.
    const scrypt = hashOf(`$scrypt$ln=13,r=8,p=1$${b64(salt)}$${b64(scryptSync('c', salt, 32, { N: 2 ** 13, r: 8, p: 1 }))}`);
    for (const [users, costliest] of [
      [[['amy', cheap], ['bea', costly]], costly],
      [[['bea', costly], ['amy', cheap]], costly],
      [[['amy', cheap], ['cid', scrypt], ['bea', costly]], scrypt],
    ] as [[string, PasswordHash][], PasswordHash][]) {
      const checked: PasswordHash[] = [];
      const recording: PasswordChecks = { max: 1, inProgress: 0, tryCheck: (_, hash) => (checked.push(hash), Promise.resolve(true)) };
      const gate = basicAuthGate({ realm: 'R', users: new Map(users), forwardAuthorization: false }, recording);
      const { exchange, outgoing } = exchangeWith(basic('mallory', 'x'));
      // Even a decoy that matches lets no unknown name in.
      expect((await gate.pass(exchange, outgoing, context))?.status).toBe(401);
      expect(checked).toEqual([costliest]);
    }
  });

  it('answers 503 and logs why when a check cannot run (its thread died), rather than failing the request', async () => {
    const failing: PasswordChecks = { max: 1, inProgress: 0, tryCheck: () => Promise.reject(new Error('the password-check thread exited (1)')) };
    const gate = basicAuthGate({ realm: 'R', users: new Map([['alice', hashOf(bcrypt.hashSync('right', 4))]]), forwardAuthorization: false }, failing);
    const { exchange, outgoing } = exchangeWith(basic('alice', 'right'));
    const answer = await gate.pass(exchange, outgoing, context);
    expect([answer?.status, answer?.headers.get('retry-after'), answer?.cause]).toEqual([503, '1', 'basic_auth: the password check failed: the password-check thread exited (1)']);
  });
});

