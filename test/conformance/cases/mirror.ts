import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/waitFor.ts';
import { send } from '../client.ts';
import { echo, type ConformanceFixture } from '../fixture.ts';

/**
 * `mirror`: copies of a route's requests go to another pool beside the real ones (on Workers,
 * through `waitUntil`), and nothing of the copy reaches the client.
 */
export function mirrorCases(fx: ConformanceFixture): void {
  describe('mirroring', () => {
    it("sends a copy of the request, body and all, marked, to the mirror pool, and answers from the route's pool", async () => {
      const path = `/mirror/${randomUUID()}?q=1`;
      const body = 'a'.repeat(1000);
      // A declared length: only a body that can be kept to send twice is copied (HTTP/2 clients declare none by themselves).
      const reply = await send(fx.balancer.url, path, { method: 'POST', headers: { host: 'copy.mirror.test', 'content-type': 'text/plain', 'content-length': String(body.length) }, body });
      expect(reply.status, reply.text()).toBe(200);
      expect(echo(reply).name).toBe('mango1');
      expect(echo(reply).headers['x-switchyard-mirror']).toBeUndefined();
      await waitFor(() => fx.apple.seen.some((seen) => seen.url === path), 5_000, 'the copy reaching the mirror pool');
      const copy = fx.apple.seen.find((seen) => seen.url === path)!;
      expect(copy.method).toBe('POST');
      expect(copy.bodyBytes).toBe(1000);
      expect(copy.headers['x-switchyard-mirror']).toBe('1');
    });

    it('answers at once while the mirror pool never answers', async () => {
      const before = fx.hanging.connections();
      const started = Date.now();
      const reply = await send(fx.balancer.url, '/', { headers: { host: 'hang.mirror.test' } });
      expect(reply.status).toBe(200);
      expect(echo(reply).name).toBe('mango1');
      // The copy waits for response_headers (60 s by default); the client was not kept for it.
      expect(Date.now() - started).toBeLessThan(10_000);
      await waitFor(() => fx.hanging.connections() > before, 5_000, 'the copy reaching the hanging backend');
    });

    it('answers as usual when the mirror pool cannot be connected to', async () => {
      for (let i = 0; i < 3; i++) {
        const reply = await send(fx.balancer.url, '/', { headers: { host: 'dead.mirror.test' } });
        expect(reply.status).toBe(200);
        expect(echo(reply).name).toBe('mango1');
      }
    });
  });
}
