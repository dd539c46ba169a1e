import { describe, expect, it } from 'vitest';
import { open, openWebSocket, send } from '../client.ts';
import { echo, type ConformanceFixture } from '../fixture.ts';

/** `alice:wonderland`, the user of auth.gates.test (fixture.ts). */
const ALICE = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;

/** The edge middleware (docs/edge-middleware.md): cors, basic_auth, forward_auth, max_request_body. */
export function gatesCases(fx: ConformanceFixture): void {
  describe('edge middleware', () => {
    it('answers a CORS preflight at the edge and puts the allowed origin on the answer', async () => {
      const preflight = await send(fx.balancer.url, '/x', {
        method: 'OPTIONS',
        headers: { host: 'cors.gates.test', origin: 'https://app.gates.test', 'access-control-request-method': 'PUT' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://app.gates.test');
      expect(preflight.headers['access-control-allow-credentials']).toBe('true');
      const refused = await send(fx.balancer.url, '/x', { method: 'OPTIONS', headers: { host: 'cors.gates.test', origin: 'https://evil.test', 'access-control-request-method': 'PUT' } });
      expect(refused.status).toBe(403);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
      const actual = await send(fx.balancer.url, '/x', { headers: { host: 'cors.gates.test', origin: 'https://app.gates.test' } });
      expect(actual.status).toBe(200);
      expect(actual.headers['access-control-allow-origin']).toBe('https://app.gates.test');
      expect(actual.headers.vary).toMatch(/origin/i);
    });

    it('asks for credentials with 401 and lets the right ones through without Authorization, naming the user', async () => {
      const refused = await send(fx.balancer.url, '/', { headers: { host: 'auth.gates.test' } });
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Basic realm="gates", charset="UTF-8"');
      const wrong = await send(fx.balancer.url, '/', { headers: { host: 'auth.gates.test', authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } });
      expect(wrong.status).toBe(401);
      const seen = echo(await send(fx.balancer.url, '/', { headers: { host: 'auth.gates.test', authorization: ALICE, 'x-user': 'forged' } }));
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.headers['x-user']).toBe('alice');
    });

    it("asks the auth service, copies its listed headers over the client's, and returns its refusals", async () => {
      const seen = echo(await send(fx.balancer.url, '/orders?id=7', { headers: { host: 'forward.gates.test', 'x-served-by': 'forged', 'x-case': 'forward-ok' } }));
      expect(seen.headers['x-served-by']).toBe('apple1');
      const asked = fx.apple.seen.find((request) => request.headers['x-case'] === 'forward-ok');
      expect(asked?.method).toBe('GET');
      expect(asked?.url).toBe('/status/204');
      expect(asked?.headers['x-forwarded-uri']).toBe('/orders?id=7');
      expect(asked?.headers['x-forwarded-method']).toBe('GET');
      const denied = await send(fx.balancer.url, '/', { headers: { host: 'denied.gates.test' } });
      expect(denied.status).toBe(401);
      expect(denied.text()).toBe('status 401\n');
      const down = await send(fx.balancer.url, '/', { headers: { host: 'authdown.gates.test' } });
      expect(down.status).toBe(503);
    });

    it('answers 413 to a Content-Length over max_request_body, and forwards one within it', async () => {
      const over = await send(fx.balancer.url, '/upload', { method: 'POST', headers: { host: 'body.gates.test', 'content-length': '1001' }, body: Buffer.alloc(1001, 97) });
      expect(over.status).toBe(413);
      const within = await send(fx.balancer.url, '/upload', { method: 'POST', headers: { host: 'body.gates.test' }, body: Buffer.alloc(1000, 97) });
      expect(within.json()).toMatchObject({ bytes: 1000 });
    });

    describe('WebSocket', () => {
      it('guards upgrades too: a handshake is answered 401 without credentials, and opens with them', async () => {
        const outcome = (headers: Record<string, string>) =>
          new Promise<number | string>((resolve) => {
            const socket = openWebSocket(fx.balancer.url, '/ws', { host: 'auth.gates.test', ...headers });
            socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
            socket.once('open', () => (socket.close(), resolve(101)));
            socket.once('error', (error) => resolve(`error: ${error.message}`));
          });
        expect(await outcome({})).toBe(401);
        expect(await outcome({ authorization: ALICE })).toBe(101);
      });
    });

    // Under `wrangler dev`, a Worker that stopped reading this body part-way made workerd close the
    // connection wrangler's proxy kept for its next request: a WebSocket handshake sent next got no
    // answer (wrangler 4.86 parks a failed GET as if the Worker were reloading), a POST got 503 "Your
    // worker restarted mid-request". The balancer now reads a short rest of the body before cutting
    // it off (webBodies' CUT_OFF_GRACE); see docs/runtimes.md.
    it('cuts a body of unknown length off at max_request_body with 413', async () => {
      const request = open(fx.balancer.url, '/upload', { method: 'POST', headers: { host: 'body.gates.test' } });
      for (let i = 0; i < 3; i++) request.write(Buffer.alloc(500, 98));
      request.end();
      const { status, body } = await request.response;
      body.resume();
      expect(status).toBe(413);
    });
  });
}
