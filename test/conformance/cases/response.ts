import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { open, openWebSocket, send, sendRaw } from '../client.ts';
import { holdsFor, waitFor, within } from '../../helpers/waitFor.ts';
import type { ConformanceFixture } from '../fixture.ts';

/** What the client receives, WebSocket upgrades, and what a client that goes away cancels. */
export function responseCases(fx: ConformanceFixture): void {
  describe('the response on its way to the client', () => {
    it('passes redirects through instead of following them', async () => {
      const reply = await send(fx.balancer.url, '/redirect', { headers: { host: 'www.apple.com' } });
      expect(reply.status).toBe(302);
      expect(reply.headers.location).toBe('/elsewhere');
    });

    it('keeps several Set-Cookie fields apart', async () => {
      const reply = await send(fx.balancer.url, '/cookies', { headers: { host: 'www.apple.com' } });
      expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'c=3; HttpOnly']);
    });

    it(`${fx.facts.passesTrailers ? 'passes the backend\'s trailer fields through' : 'loses the backend\'s trailer fields (documented for this runtime)'}, after the whole body`, async () => {
      const reply = await send(fx.balancer.url, '/trailers', { headers: { host: 'www.apple.com', te: 'trailers' } });
      expect(reply.status).toBe(200);
      expect(reply.text()).toBe('body with trailers\n');
      expect(reply.trailers['x-checksum']).toBe(fx.facts.passesTrailers ? 'sha256-abc123' : undefined);
    });

    it('removes hop-by-hop fields from the response', async () => {
      const reply = await send(fx.balancer.url, '/hop', { headers: { host: 'www.apple.com' } });
      expect(reply.status).toBe(200);
      expect(reply.headers['x-secret']).toBeUndefined();
      expect(reply.headers['keep-alive']).toBeUndefined();
      expect(reply.headers['proxy-connection']).toBeUndefined();
      expect(reply.headers['x-end-to-end']).toBe('kept');
    });

    it.each([
      ['HEAD', '/', 200],
      ['GET', '/status/204', 204],
      ['GET', '/status/304', 304],
    ])('answers %s %s with status %i and not one body byte', async (method, path, status) => {
      const { head, rest } = await sendRaw(fx.balancer.url, `${method} ${path} HTTP/1.1\nhost: www.apple.com\n`);
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(rest.length).toBe(0);
    });

    it(
      fx.facts.compressedBodyVerbatim
        ? 'passes a gzip body through still compressed, byte for byte, with its Content-Encoding'
        : 'passes a gzip body through compressed with its Content-Encoding (workerd re-encodes what it decoded)',
      async () => {
        const reply = await send(fx.balancer.url, '/gzip', { headers: { host: 'www.apple.com', 'accept-encoding': 'gzip' } });
        expect(reply.status).toBe(200);
        expect(reply.headers['content-encoding']).toBe('gzip');
        expect(gunzipSync(reply.body).toString()).toBe('hello gzip '.repeat(100));
        if (fx.facts.compressedBodyVerbatim) expect(reply.body.equals(gzipSync(Buffer.from('hello gzip '.repeat(100))))).toBe(true);
      },
    );

    it('streams a large response body through intact', async () => {
      const reply = await send(fx.balancer.url, `/bytes/${8 * 1024 * 1024}`, { headers: { host: 'www.apple.com' } });
      expect(reply.status).toBe(200);
      expect(reply.body.length).toBe(8 * 1024 * 1024);
    });

    it('streams the response body: the first bytes arrive while the backend is still sending', async () => {
      const first = await new Promise<string>((resolve, reject) => {
        const req = open(fx.balancer.url, '/stall-body', { headers: { host: 'www.apple.com' } });
        req.response.then((res) => {
          res.body.once('data', (chunk: Buffer) => {
            clearTimeout(timer);
            req.abort();
            resolve(chunk.toString());
          });
        }, reject);
        const timer = setTimeout(() => {
          req.abort();
          reject(new Error('no body bytes while the backend stalled: the body was buffered'));
        }, 8_000);
        req.end();
      });
      expect(first).toBe('partial ');
    });
  });

  describe('WebSocket', () => {
    it(
      fx.facts.upgradeKeepsHeaders
        ? 'proxies an upgrade with its headers and relays messages both ways'
        : "proxies an upgrade and relays messages both ways (the backend sees its own Host and no X-Forwarded-For: Deno's WebSocket client sends no custom headers)",
      async () => {
      const socket = openWebSocket(fx.balancer.url, '/ws?room=1', { host: 'www.apple.com' });
      const messages: string[] = [];
      const next = () => new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message; got ${JSON.stringify(messages)}`)), 5_000);
        socket.once('message', (data) => (clearTimeout(timer), messages.push(String(data)), resolve(String(data))));
      });
      const hello = next();
      await new Promise<void>((resolve, reject) => (socket.once('open', () => resolve()), socket.once('error', reject)));
      const seen = JSON.parse(await hello) as { name: string; url: string; host: string; forwardedFor?: string };
      expect(seen.name).toBe('apple1');
      expect(seen.url).toBe('/ws?room=1');
      const forwarded = fx.facts.upgradeKeepsHeaders;
      expect(seen.host).toBe(forwarded && fx.facts.keepsClientHost ? 'www.apple.com' : fx.apple.address);
      expect(seen.forwardedFor).toBe(forwarded ? '127.0.0.1' : undefined);
      const echoed = next();
      socket.send('ping through the balancer');
      expect(await echoed).toBe('ping through the balancer');
      socket.close();
      },
    );

    it('survives a client that leaves with close code 1001, and goes on serving', async () => {
      const backendGone = new Promise<void>((resolve) => fx.apple.server.once('upgrade', (_request, backendSocket) => backendSocket.once('close', () => resolve())));
      const socket = openWebSocket(fx.balancer.url, '/ws', { host: 'www.apple.com' });
      await new Promise<void>((resolve, reject) => (socket.once('message', () => resolve()), socket.once('error', reject)));
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      socket.close(1001, 'going away');
      await closed;
      await within(backendGone, 'the balancer to close its connection to the backend');
      expect((await send(fx.balancer.url, '/after-close', { headers: { host: 'www.apple.com' } })).status).toBe(200);
    });

    it('keeps the firewall in front of upgrades', async () => {
      const socket = openWebSocket(fx.balancer.url, '/ws', { host: 'www.rejected.com' });
      const status = await new Promise<number>((resolve) => {
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('open', () => resolve(101));
        socket.once('error', () => {});
      });
      socket.terminate();
      expect(status).toBe(403);
    });

    /** Opens a WebSocket through the balancer; resolves with the handshake's status and Set-Cookie fields. */
    const handshake = (host: string) =>
      new Promise<{ status: number; cookies: string[] }>((resolve) => {
        const socket = openWebSocket(fx.balancer.url, '/ws', { host });
        const done = (status: number, cookies: string[] | undefined) => (socket.terminate(), resolve({ status, cookies: cookies ?? [] }));
        socket.once('upgrade', (res) => done(101, res.headers['set-cookie']));
        socket.once('unexpected-response', (_req, res) => done(res.statusCode ?? 0, undefined));
        socket.once('error', () => done(0, undefined));
      });

    it('sets the sticky cookie on the 101, as on any response', async () => {
      const { status, cookies } = await handshake('sticky.test');
      expect(status).toBe(101);
      expect(cookies.join('\n')).toMatch(/^switchyard_backend=/m);
    });

    it('retries an upgrade on the next backend when one cannot be reached', async () => {
      // apple.failover.test has the one live backend between two that refuse connections.
      for (let i = 0; i < 4; i++) expect((await handshake('apple.failover.test')).status).toBe(101);
    });
  });

  describe('client disconnects', () => {
    it(
      fx.facts.cancelsUpstreamOnDisconnect
        ? 'cancels the upstream request when the client goes away'
        : 'keeps the upstream request running when the client goes away (wrangler dev does not pass the disconnect on)',
      async () => {
        const path = `/hang/${fx.runtime}-${fx.transport}-${Date.now()}`;
        // Over HTTP/2 only the stream is reset (RST_STREAM CANCEL); its connection stays open.
        const req = open(fx.balancer.url, path, { headers: { host: 'streaming.test' } });
        req.end();
        await waitFor(() => fx.streaming.hanging.has(path), 8_000, 'the request to reach the backend');
        req.abort();
        if (fx.facts.cancelsUpstreamOnDisconnect) {
          await waitFor(() => fx.streaming.abandoned.has(path), 8_000, 'the backend request to be cancelled after the client went away');
        } else {
          await holdsFor(() => !fx.streaming.abandoned.has(path), 1_000, 'the backend request runs on after the client went away');
          expect(fx.streaming.abandoned.has(path)).toBe(false);
        }
      },
    );
  });
}
