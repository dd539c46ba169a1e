import { describe, expect, it } from 'vitest';
import { openWebSocket, send } from '../client.ts';
import { echo, MANGO_NAMES, type ConformanceFixture } from '../fixture.ts';

/** Named pools shared by routes, splits between named pools, and the answers a route gives itself. */
export function poolsCases(fx: ConformanceFixture): void {
  const get = (host: string, path = '/', headers: Record<string, string> = {}, method = 'GET') => send(fx.balancer.url, path, { method, headers: { host, ...headers } });

  describe('named pools', () => {
    it('shares one round-robin rotation between two routes naming the same pool', async () => {
      const names: string[] = [];
      for (const host of ['a.pools.test', 'b.pools.test', 'a.pools.test', 'b.pools.test']) {
        const reply = await get(host);
        expect(reply.status).toBe(200);
        names.push(echo(reply).name);
      }
      // Two pools of their own would each start their own rotation; one shared pool alternates.
      expect(names.every((name, i) => i === 0 || name !== names[i - 1]), names.join(' ')).toBe(true);
      expect([...new Set(names)].sort()).toEqual(MANGO_NAMES);
    });
  });

  describe('split', () => {
    it('reaches both pools of a 50/50 split, each within 30-70% of 200 requests', async () => {
      const counts = new Map<string, number>();
      for (let i = 0; i < 200; i++) {
        const name = echo(await get('split.pools.test')).name;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      expect([...counts.keys()].sort()).toEqual(MANGO_NAMES);
      for (const count of counts.values()) expect(count / 200).toBeGreaterThan(0.3);
    });

    it('keeps a client on its side with the cookie that names it', async () => {
      const first = await get('sticky-split.pools.test');
      const cookie = String(first.headers['set-cookie']).split(';')[0];
      expect(cookie).toMatch(/^switchyard_split_[0-9a-f]{8}=pools-mango[12]$/);
      const side = echo(first).name;
      for (let i = 0; i < 10; i++) {
        const again = await get('sticky-split.pools.test', '/', { cookie });
        expect(echo(again).name).toBe(side);
        expect(again.headers['set-cookie']).toBeUndefined();
      }
    });
  });

  describe('redirects and fixed answers', () => {
    it('redirects with the path and query kept, carrying X-Request-Id', async () => {
      const reply = await get('redirect.pools.test', '/old/page?x=1');
      expect(reply.status).toBe(301);
      expect(reply.headers.location).toBe('https://new.pools.test/old/page?x=1');
      expect(reply.headers['x-request-id']).toMatch(/\S/);
    });

    it('answers a fixed status, body and fields, and a HEAD without the body', async () => {
      const reply = await get('respond.pools.test', '/anything');
      expect(reply.status).toBe(503);
      expect(reply.text()).toBe('Down for maintenance\n');
      expect(reply.headers['retry-after']).toBe('120');
      expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
      const head = await get('respond.pools.test', '/anything', {}, 'HEAD');
      expect(head.status).toBe(503);
      expect(head.body.length).toBe(0);
      expect(head.headers['content-length']).toBe('21');
    });

    describe('WebSocket', () => {
      it('answers a WebSocket handshake to a redirect route itself, never tunnelling it', async () => {
        const socket = openWebSocket(fx.balancer.url, '/ws', { host: 'redirect.pools.test' });
        const answer = await new Promise<{ status?: number; location?: string }>((resolve, reject) => {
          socket.once('unexpected-response', (_request, response) => (resolve({ status: response.statusCode, location: response.headers.location }), response.resume()));
          socket.once('open', () => reject(new Error('the handshake was tunnelled')));
          socket.once('error', reject);
        });
        socket.terminate();
        expect(answer).toEqual({ status: 301, location: 'https://new.pools.test/ws' });
      });
    });
  });
}
