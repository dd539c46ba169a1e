import { describe, expect, it } from 'vitest';
import { open, send } from '../client.ts';
import { echo, type ConformanceFixture } from '../fixture.ts';

/** What the backend receives: Host, forwarding and hop-by-hop headers, the query, the body as a stream. */
export function requestCases(fx: ConformanceFixture): void {
  describe('the request on its way to the backend', () => {
    it(
      fx.facts.keepsClientHost ? "keeps the client's Host" : "sends the backend's own host:port as Host (workerd's fetch cannot override it)",
      async () => {
        const seen = echo(await send(fx.balancer.url, '/', { headers: { host: 'www.apple.com' } }));
        expect(seen.headers.host).toBe(fx.facts.keepsClientHost ? 'www.apple.com' : fx.apple.address);
      },
    );

    it('adds X-Forwarded-For, -Proto and -Host', async () => {
      const seen = echo(await send(fx.balancer.url, '/', { headers: { host: 'www.apple.com', 'x-forwarded-for': '203.0.113.9' } }));
      expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      expect(seen.headers['x-forwarded-proto']).toBe(fx.transport === 'http' ? 'http' : 'https');
      expect(seen.headers['x-forwarded-host']).toBe('www.apple.com');
    });

    it(
      fx.facts.seesConnectionHeader
        ? 'removes hop-by-hop fields, including those named in Connection'
        : 'removes hop-by-hop fields; those named only in Connection pass (workerd hides Connection from the Worker)',
      async () => {
        const seen = echo(
          await send(fx.balancer.url, '/', {
            headers: { host: 'www.apple.com', connection: 'keep-alive, x-hop', 'x-hop': 'drop me', 'proxy-connection': 'keep-alive', te: 'trailers', 'x-end-to-end': 'keep me' },
          }),
        );
        expect(seen.headers['x-hop']).toBe(fx.facts.seesConnectionHeader ? undefined : 'drop me');
        expect(seen.headers['proxy-connection']).toBeUndefined();
        expect(seen.headers.te).toBeUndefined();
        expect(seen.headers['x-end-to-end']).toBe('keep me');
      },
    );

    it('forwards the query string byte for byte', async () => {
      const query = '?b=2&a=1&a=3&x=%20y&z=a+b&empty=&flag&enc=%2F%3F';
      const seen = echo(await send(fx.balancer.url, `/q${query}`, { headers: { host: 'www.apple.com' } }));
      expect(seen.url).toBe(`/q${query}`);
    });

    it(
      fx.facts.queryVerbatim
        ? 'forwards even the characters URL parsing would encode in a query'
        : "forwards ' \" < > in a query percent-encoded (workerd re-serialises the URL)",
      async () => {
        const sent = `?q=it's&r=<a>|"b"&s=^\`{}`;
        const seen = echo(await send(fx.balancer.url, `/q${sent}`, { headers: { host: 'www.apple.com' } }));
        expect(seen.url).toBe(fx.facts.queryVerbatim ? `/q${sent}` : '/q?q=it%27s&r=%3Ca%3E|%22b%22&s=^`{}');
      },
    );

    it('streams a large request body through intact', async () => {
      const body = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
      const reply = await send(fx.balancer.url, '/upload', { method: 'POST', headers: { host: 'www.apple.com', 'content-type': 'application/octet-stream' }, body });
      expect(reply.status).toBe(200);
      let checksum = 0;
      for (const byte of body) checksum = (checksum + byte) >>> 0;
      expect(reply.json()).toEqual({ bytes: body.length, checksum });
    });

    it('streams the request body: the backend answers before the client has finished sending', async () => {
      const answer = await new Promise<string>((resolve, reject) => {
        // No Content-Length: HTTP/1.1 sends the body chunked, HTTP/2 as DATA frames.
        const req = open(fx.balancer.url, '/first-chunk', { method: 'POST', headers: { host: 'streaming.test' } });
        const timer = setTimeout(() => {
          req.abort();
          reject(new Error('no answer before the request body ended: the body was buffered'));
        }, 8_000);
        req.response.then((res) => {
          // The first bytes are enough: workerd ends the response only once the upload has ended.
          res.body.once('data', (chunk: Buffer) => {
            clearTimeout(timer);
            req.abort();
            resolve(chunk.toString());
          });
        }, (error: unknown) => (clearTimeout(timer), reject(error)));
        req.write('hello');
      });
      expect(answer).toBe('first: hello');
    });
  });
}
