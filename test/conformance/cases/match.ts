import { describe, expect, it } from 'vitest';
import { send, type SendOptions } from '../client.ts';
import { echo, type ConformanceFixture } from '../fixture.ts';

/** Routes chosen by `match` (methods, headers, query, cookies), and the fallback when a match fails. */
export function matchCases(fx: ConformanceFixture): void {
  describe('match', () => {
    const served = async (host: string, path: string, options: SendOptions = {}) => {
      const reply = await send(fx.balancer.url, path, { ...options, headers: { host, ...options.headers } });
      expect(reply.status).toBe(200);
      return echo(reply).name;
    };

    it('sends a client with the canary cookie to the canary route written before the general one', async () => {
      expect(await served('shop.match.test', '/', { headers: { cookie: 'theme=dark; canary=1' } })).toBe('mango1');
      expect(await served('shop.match.test', '/', { headers: { cookie: 'canary=0' } })).toBe('apple1');
      expect(await served('shop.match.test', '/')).toBe('apple1');
    });

    it('chooses by method, and falls back to the host\'s / route for another', async () => {
      expect(await served('api.match.test', '/api/items', { method: 'POST', body: '{}' })).toBe('mango1');
      expect(await served('api.match.test', '/api/items', { method: 'DELETE' })).toBe('apple1');
    });

    it('chooses by a header value, exactly', async () => {
      expect(await served('api.match.test', '/api', { headers: { 'x-version': '2' } })).toBe('mango2');
      expect(await served('api.match.test', '/api', { headers: { 'x-version': '20' } })).toBe('apple1');
    });

    it('chooses by a header pattern, with every other condition holding', async () => {
      expect(await served('api.match.test', '/api', { headers: { 'user-agent': 'curl/8.5' } })).toBe('mango1');
      expect(await served('api.match.test', '/api?debug=1', { headers: { 'user-agent': 'curl/8.5' } })).toBe('apple1');
      expect(await served('api.match.test', '/api', { headers: { 'user-agent': 'Mozilla/5.0 curl/8.5' } })).toBe('apple1');
    });

    it('chooses by a header being present, whatever its value', async () => {
      expect(await served('api.match.test', '/private', { headers: { authorization: 'Bearer x' } })).toBe('mango2');
      expect(await served('api.match.test', '/private')).toBe('apple1');
    });

    it('chooses by a query parameter, percent-decoded', async () => {
      expect(await served('api.match.test', '/search?lang=pt+br')).toBe('mango2');
      expect(await served('api.match.test', '/search?lang=pt%20br&q=1')).toBe('mango2');
      expect(await served('api.match.test', '/search?lang=en')).toBe('apple1');
    });

    it('falls back from the exact host to the wildcard host, then to path-only routes', async () => {
      expect(await served('w.match.test', '/wild', { method: 'POST', body: '{}' })).toBe('mango1');
      expect(await served('w.match.test', '/wild')).toBe('mango2');
      // The exact host's / outranks the wildcard's longer /wild: host first, then path.
      expect(await served('api.match.test', '/wild')).toBe('apple1');
      expect(['mango1', 'mango2']).toContain(await served('other.match.test', '/mango'));
    });
  });
}
