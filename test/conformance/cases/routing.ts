import { describe, expect, it } from 'vitest';
import type { EchoedRequest } from '../../helpers/testBackend.ts';
import { send } from '../client.ts';
import { echo, MANGO_NAMES, type ConformanceFixture } from '../fixture.ts';

/** Where requests go, what the tutorial's rules do to them, and the balancer's own statuses. */
export function routingCases(fx: ConformanceFixture): void {
  describe('routing (the tutorial seed cases)', () => {
    it('sends Host www.mango.com to a mango backend', async () => {
      const reply = await send(fx.balancer.url, '/', { headers: { host: 'www.mango.com' } });
      expect(reply.status).toBe(200);
      expect(MANGO_NAMES).toContain(echo(reply).name);
    });

    it('sends Host www.apple.com to the apple backend', async () => {
      const reply = await send(fx.balancer.url, '/', { headers: { host: 'www.apple.com' } });
      expect(reply.status).toBe(200);
      expect(echo(reply).name).toBe('apple1');
    });

    it('answers 404 Not Found for an unknown host', async () => {
      const reply = await send(fx.balancer.url, '/', { headers: { host: 'www.notmango.com' } });
      expect(reply.status).toBe(404);
      expect(reply.text().trim()).toBe('Not Found');
    });

    it('sends path /mango to a mango backend, the path unchanged', async () => {
      const reply = await send(fx.balancer.url, '/mango', { headers: { host: 'unknown.example' } });
      expect(reply.status).toBe(200);
      expect(MANGO_NAMES).toContain(echo(reply).name);
      expect(echo(reply).url).toBe('/mango');
    });

    it('sends path /apple to the apple backend', async () => {
      const reply = await send(fx.balancer.url, '/apple/', { headers: { host: 'unknown.example' } });
      expect(reply.status).toBe(200);
      expect(echo(reply).name).toBe('apple1');
    });

    it('answers 404 Not Found for an unknown path', async () => {
      for (const path of ['/notmango', '/mangos']) {
        const reply = await send(fx.balancer.url, path, { headers: { host: 'unknown.example' } });
        expect(reply.status).toBe(404);
        expect(reply.text().trim()).toBe('Not Found');
      }
    });

    it('spreads requests over both mango backends', async () => {
      const names = new Set<string>();
      for (let i = 0; i < 20 && names.size < 2; i++) names.add(echo(await send(fx.balancer.url, '/', { headers: { host: 'www.mango.com' } })).name);
      expect([...names].sort()).toEqual(MANGO_NAMES);
    });
  });

  describe("the tutorial's rules", () => {
    const mango = (path: string) => send(fx.balancer.url, path, { headers: { host: 'www.mango.com' } });
    const ownAddress = (seen: EchoedRequest) => (seen.name === 'mango1' ? fx.mango1 : fx.mango2).address;

    it('adds MyCustomHeader: Test and removes the Host, so the backend sees its own host:port', async () => {
      const seen = echo(await mango('/'));
      expect(seen.headers.mycustomheader).toBe('Test');
      expect(seen.headers.host).toBe(ownAddress(seen));
    });

    it('adds MyCustomParam=Test and drops RemoveMe from the query', async () => {
      expect(echo(await mango('/?RemoveMe=Remove&keep=%7e')).url).toBe('/?keep=%7e&MyCustomParam=Test');
    });

    it("serves /v1 by the backend's /v2", async () => {
      expect(echo(await mango('/v1')).url).toBe('/v2?MyCustomParam=Test');
    });

    it('answers 403 for /messages and /apps, 200 for /pictures', async () => {
      expect((await mango('/messages')).status).toBe(403);
      expect((await mango('/apps')).status).toBe(403);
      expect((await mango('/messages/1')).text()).toBe('Forbidden\n');
      expect((await mango('/pictures')).status).toBe(200);
    });

    it('answers 403 to a request from a rejected IP', async () => {
      const reply = await send(fx.balancer.url, '/', { headers: { host: 'www.rejected.com' } });
      expect(reply.status).toBe(403);
      expect(reply.text()).toBe('Forbidden\n');
    });

    it('answers from the one live backend of a pool whose other backends are dead', async () => {
      for (let i = 0; i < 10; i++) {
        const reply = await send(fx.balancer.url, `/${i}`, { headers: { host: 'apple.failover.test' } });
        expect(reply.status).toBe(200);
        expect(echo(reply).name).toBe('apple1');
      }
    });
  });

  describe('status codes', () => {
    it('answers 502 when the backend drops the connection without answering', async () => {
      const reply = await send(fx.balancer.url, '/reset', { headers: { host: 'streaming.test' } });
      expect(reply.status).toBe(502);
      expect(reply.text().trim()).toBe('Bad Gateway');
    });

    it(
      fx.facts.allRefusedStatus === 503
        ? 'answers 503 naming the route when its only backend refuses connections'
        : 'answers 502 when its only backend refuses connections (workerd cannot tell refused from dropped)',
      async () => {
        const reply = await send(fx.balancer.url, '/dead', { headers: { host: 'unknown.example' } });
        expect(reply.status).toBe(fx.facts.allRefusedStatus);
        expect(reply.text().trim()).toBe(fx.facts.allRefusedStatus === 503 ? 'Service Unavailable: no healthy backend for /dead' : 'Bad Gateway');
      },
    );

    it('answers 400 for a path that cannot be normalised safely', async () => {
      const reply = await send(fx.balancer.url, '/mango/%2F..', { headers: { host: 'www.mango.com' } });
      expect(reply.status).toBe(400);
      expect(fx.mango1.seen.concat(fx.mango2.seen).some((seen) => seen.url.includes('%2F'))).toBe(false);
    });
  });
}
