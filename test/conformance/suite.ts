import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_FACTS, startOnRuntime, type RuntimeBalancer, type RuntimeName } from '../helpers/runtimes.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';
import { send, sendRaw } from './client.ts';
import { startStreamingBackend, type StreamingBackend } from './streamingBackend.ts';

/**
 * The HTTP-level behaviour every runtime must share, run against a balancer started the way users
 * start it on `runtime`, with real loopback backends. Where a runtime documentedly differs
 * (RUNTIME_FACTS, docs/runtimes.md), the case asserts that runtime's documented behaviour.
 */
export function defineConformanceSuite(runtime: RuntimeName): void {
  const facts = RUNTIME_FACTS[runtime];

  describe(`conformance on ${runtime}`, () => {
    let mango1: TestBackend;
    let mango2: TestBackend;
    let apple: TestBackend;
    let streaming: StreamingBackend;
    let balancer: RuntimeBalancer;
    const mangoNames = ['mango1', 'mango2'];

    beforeAll(async () => {
      [mango1, mango2, apple, streaming] = await Promise.all([startTestBackend('mango1'), startTestBackend('mango2'), startTestBackend('apple1'), startStreamingBackend()]);
      const [deadPort, dead1, dead2] = await Promise.all([unusedPort(), unusedPort(), unusedPort()]);
      // JSON, which is YAML too: the same text works as a file (node, deno) and as LB_CONFIG (workerd).
      const config = {
        hosts: [
          // The tutorial's rules, as in examples/loadbalancer.yaml.
          {
            host: 'www.mango.com',
            firewall_rules: { ip_reject: ['10.192.0.1', '10.192.0.2'], path_reject: ['/messages', '/apps'] },
            header_rules: { add: { MyCustomHeader: 'Test' }, remove: { Host: 'www.mango.com' } },
            param_rules: { add: { MyCustomParam: 'Test' }, remove: { RemoveMe: 'Remove' } },
            rewrite_rules: { replace: { v1: 'v2' } },
            servers: [mango1.address, mango2.address],
          },
          { host: 'www.rejected.com', firewall_rules: { ip_reject: ['127.0.0.1', '::1'] }, servers: [apple.address] },
          // The tutorial's apple: one live backend among dead ones.
          { host: 'apple.failover.test', servers: [`127.0.0.1:${dead1}`, apple.address, `127.0.0.1:${dead2}`] },
          { host: 'www.apple.com', servers: [apple.address] },
          // Retries off: with them on, up to `max_buffered_body` of a request body is buffered before
          // it is forwarded (to be replayed), which the streaming case below would see.
          { host: 'streaming.test', servers: [streaming.address], health_check: false, retries: false },
        ],
        paths: [
          { path: '/mango', servers: [mango1.address, mango2.address] },
          { path: '/apple', servers: [apple.address] },
          { path: '/dead', servers: [`127.0.0.1:${deadPort}`], health_check: false },
        ],
      };
      balancer = await startOnRuntime(runtime, JSON.stringify(config));
    }, 90_000);

    afterAll(async () => {
      await balancer?.stop();
      await Promise.all([mango1, mango2, apple, streaming].map((backend) => backend?.close()));
    });

    const echo = (reply: { json<T>(): T }) => reply.json<EchoedRequest>();

    describe('routing (the tutorial seed cases)', () => {
      it('sends Host www.mango.com to a mango backend', async () => {
        const reply = await send(balancer.url, '/', { headers: { host: 'www.mango.com' } });
        expect(reply.status).toBe(200);
        expect(mangoNames).toContain(echo(reply).name);
      });

      it('sends Host www.apple.com to the apple backend', async () => {
        const reply = await send(balancer.url, '/', { headers: { host: 'www.apple.com' } });
        expect(reply.status).toBe(200);
        expect(echo(reply).name).toBe('apple1');
      });

      it('answers 404 Not Found for an unknown host', async () => {
        const reply = await send(balancer.url, '/', { headers: { host: 'www.notmango.com' } });
        expect(reply.status).toBe(404);
        expect(reply.text().trim()).toBe('Not Found');
      });

      it('sends path /mango to a mango backend, the path unchanged', async () => {
        const reply = await send(balancer.url, '/mango', { headers: { host: 'unknown.example' } });
        expect(reply.status).toBe(200);
        expect(mangoNames).toContain(echo(reply).name);
        expect(echo(reply).url).toBe('/mango');
      });

      it('sends path /apple to the apple backend', async () => {
        const reply = await send(balancer.url, '/apple/', { headers: { host: 'unknown.example' } });
        expect(reply.status).toBe(200);
        expect(echo(reply).name).toBe('apple1');
      });

      it('answers 404 Not Found for an unknown path', async () => {
        for (const path of ['/notmango', '/mangos']) {
          const reply = await send(balancer.url, path, { headers: { host: 'unknown.example' } });
          expect(reply.status).toBe(404);
          expect(reply.text().trim()).toBe('Not Found');
        }
      });

      it('spreads requests over both mango backends', async () => {
        const names = new Set<string>();
        for (let i = 0; i < 20 && names.size < 2; i++) names.add(echo(await send(balancer.url, '/', { headers: { host: 'www.mango.com' } })).name);
        expect([...names].sort()).toEqual(mangoNames);
      });
    });

    describe("the tutorial's rules", () => {
      const mango = (path: string) => send(balancer.url, path, { headers: { host: 'www.mango.com' } });
      const ownAddress = (seen: EchoedRequest) => (seen.name === 'mango1' ? mango1 : mango2).address;

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
        const reply = await send(balancer.url, '/', { headers: { host: 'www.rejected.com' } });
        expect(reply.status).toBe(403);
        expect(reply.text()).toBe('Forbidden\n');
      });

      it('answers from the one live backend of a pool whose other backends are dead', async () => {
        for (let i = 0; i < 10; i++) {
          const reply = await send(balancer.url, `/${i}`, { headers: { host: 'apple.failover.test' } });
          expect(reply.status).toBe(200);
          expect(echo(reply).name).toBe('apple1');
        }
      });
    });

    describe('the path firewall over raw TCP', () => {
      const status = async (target: string, host = 'www.mango.com') => {
        const { head } = await sendRaw(balancer.url, `GET ${target} HTTP/1.1\nhost: ${host}\n`, 150);
        return Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
      };
      const seenPaths = () => mango1.seen.concat(mango2.seen).map((seen) => seen.url);

      // The spellings of test/e2e/firewall-raw.test.ts that every runtime's request parser accepts.
      it.concurrent.each(FIREWALL_SPELLINGS)('holds against GET %s', async (target) => {
        expect([400, 403]).toContain(await status(target));
        // Backends see normalised paths, so a spelling that slipped through would show as one of these.
        expect(seenPaths().filter((path) => /^\/(messages|apps)(\/|\?|;|$)/i.test(path))).toEqual([]);
      });

      it.concurrent.each(['/pictures', '/messages-archive', '/x/messages', '/messagesx'])('lets GET %s through', async (target) => {
        expect(await status(target)).toBe(200);
      });

      it('refuses the rejected paths whatever the Host spelling of the route', async () => {
        for (const host of ['WWW.MANGO.COM', 'www.mango.com.']) expect(await status('/messages', host), host).toBe(403);
      });
    });

    describe('status codes', () => {
      it('answers 502 when the backend drops the connection without answering', async () => {
        const reply = await send(balancer.url, '/reset', { headers: { host: 'streaming.test' } });
        expect(reply.status).toBe(502);
        expect(reply.text().trim()).toBe('Bad Gateway');
      });

      it(
        facts.allRefusedStatus === 503
          ? 'answers 503 naming the route when its only backend refuses connections'
          : 'answers 502 when its only backend refuses connections (workerd cannot tell refused from dropped)',
        async () => {
          const reply = await send(balancer.url, '/dead', { headers: { host: 'unknown.example' } });
          expect(reply.status).toBe(facts.allRefusedStatus);
          expect(reply.text().trim()).toBe(facts.allRefusedStatus === 503 ? 'Service Unavailable: no healthy backend for /dead' : 'Bad Gateway');
        },
      );

      it('answers 400 for a path that cannot be normalised safely', async () => {
        const reply = await send(balancer.url, '/mango/%2F..', { headers: { host: 'www.mango.com' } });
        expect(reply.status).toBe(400);
        expect(mango1.seen.concat(mango2.seen).some((seen) => seen.url.includes('%2F'))).toBe(false);
      });
    });

    describe('the request on its way to the backend', () => {
      it(
        facts.keepsClientHost ? "keeps the client's Host" : "sends the backend's own host:port as Host (workerd's fetch cannot override it)",
        async () => {
          const seen = echo(await send(balancer.url, '/', { headers: { host: 'www.apple.com' } }));
          expect(seen.headers.host).toBe(facts.keepsClientHost ? 'www.apple.com' : apple.address);
        },
      );

      it('adds X-Forwarded-For, -Proto and -Host', async () => {
        const seen = echo(await send(balancer.url, '/', { headers: { host: 'www.apple.com', 'x-forwarded-for': '203.0.113.9' } }));
        expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
        expect(seen.headers['x-forwarded-proto']).toBe('http');
        expect(seen.headers['x-forwarded-host']).toBe('www.apple.com');
      });

      it(
        facts.seesConnectionHeader
          ? 'removes hop-by-hop fields, including those named in Connection'
          : 'removes hop-by-hop fields; those named only in Connection pass (workerd hides Connection from the Worker)',
        async () => {
        const seen = echo(
          await send(balancer.url, '/', {
            headers: { host: 'www.apple.com', connection: 'keep-alive, x-hop', 'x-hop': 'drop me', 'proxy-connection': 'keep-alive', te: 'trailers', 'x-end-to-end': 'keep me' },
          }),
        );
        expect(seen.headers['x-hop']).toBe(facts.seesConnectionHeader ? undefined : 'drop me');
        expect(seen.headers['proxy-connection']).toBeUndefined();
        expect(seen.headers.te).toBeUndefined();
        expect(seen.headers['x-end-to-end']).toBe('keep me');
        },
      );

      it('forwards the query string byte for byte', async () => {
        const query = '?b=2&a=1&a=3&x=%20y&z=a+b&empty=&flag&enc=%2F%3F';
        const seen = echo(await send(balancer.url, `/q${query}`, { headers: { host: 'www.apple.com' } }));
        expect(seen.url).toBe(`/q${query}`);
      });

      it(
        facts.queryVerbatim
          ? 'forwards even the characters URL parsing would encode in a query'
          : "forwards ' \" < > in a query percent-encoded (workerd re-serialises the URL)",
        async () => {
          const sent = `?q=it's&r=<a>|"b"&s=^\`{}`;
          const seen = echo(await send(balancer.url, `/q${sent}`, { headers: { host: 'www.apple.com' } }));
          expect(seen.url).toBe(facts.queryVerbatim ? `/q${sent}` : '/q?q=it%27s&r=%3Ca%3E|%22b%22&s=^`{}');
        },
      );

      it('streams a large request body through intact', async () => {
        const body = Buffer.alloc(4 * 1024 * 1024);
        for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
        const reply = await send(balancer.url, '/upload', { method: 'POST', headers: { host: 'www.apple.com', 'content-type': 'application/octet-stream' }, body });
        expect(reply.status).toBe(200);
        let checksum = 0;
        for (const byte of body) checksum = (checksum + byte) >>> 0;
        expect(reply.json()).toEqual({ bytes: body.length, checksum });
      });

      it('streams the request body: the backend answers before the client has finished sending', async () => {
        const url = new URL(balancer.url);
        const answer = await new Promise<string>((resolve, reject) => {
          const req = request({ host: url.hostname, port: url.port, path: '/first-chunk', method: 'POST', agent: false, headers: { host: 'streaming.test', 'transfer-encoding': 'chunked' } }, (res) => {
            // The first bytes are enough: workerd ends the response only once the upload has ended.
            res.once('data', (chunk: Buffer) => {
              req.destroy();
              resolve(chunk.toString());
            });
          });
          req.on('error', reject);
          const timer = setTimeout(() => {
            req.destroy();
            reject(new Error('no answer before the request body ended: the body was buffered'));
          }, 8_000);
          req.on('close', () => clearTimeout(timer));
          req.write('hello');
        });
        expect(answer).toBe('first: hello');
      });
    });

    describe('the response on its way to the client', () => {
      it('passes redirects through instead of following them', async () => {
        const reply = await send(balancer.url, '/redirect', { headers: { host: 'www.apple.com' } });
        expect(reply.status).toBe(302);
        expect(reply.headers.location).toBe('/elsewhere');
      });

      it('keeps several Set-Cookie fields apart', async () => {
        const reply = await send(balancer.url, '/cookies', { headers: { host: 'www.apple.com' } });
        expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'c=3; HttpOnly']);
      });

      it('removes hop-by-hop fields from the response', async () => {
        const reply = await send(balancer.url, '/hop', { headers: { host: 'www.apple.com' } });
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
        const { head, rest } = await sendRaw(balancer.url, `${method} ${path} HTTP/1.1\nhost: www.apple.com\n`);
        expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        expect(rest.length).toBe(0);
      });

      it(
        facts.compressedBodyVerbatim
          ? 'passes a gzip body through still compressed, byte for byte, with its Content-Encoding'
          : 'passes a gzip body through compressed with its Content-Encoding (workerd re-encodes what it decoded)',
        async () => {
          const reply = await send(balancer.url, '/gzip', { headers: { host: 'www.apple.com', 'accept-encoding': 'gzip' } });
          expect(reply.status).toBe(200);
          expect(reply.headers['content-encoding']).toBe('gzip');
          expect(gunzipSync(reply.body).toString()).toBe('hello gzip '.repeat(100));
          if (facts.compressedBodyVerbatim) expect(reply.body.equals(gzipSync(Buffer.from('hello gzip '.repeat(100))))).toBe(true);
        },
      );

      it('streams a large response body through intact', async () => {
        const reply = await send(balancer.url, `/bytes/${8 * 1024 * 1024}`, { headers: { host: 'www.apple.com' } });
        expect(reply.status).toBe(200);
        expect(reply.body.length).toBe(8 * 1024 * 1024);
      });

      it('streams the response body: the first bytes arrive while the backend is still sending', async () => {
        const url = new URL(balancer.url);
        const first = await new Promise<string>((resolve, reject) => {
          const req = request({ host: url.hostname, port: url.port, path: '/stall-body', agent: false, headers: { host: 'www.apple.com' } }, (res) => {
            res.once('data', (chunk: Buffer) => {
              clearTimeout(timer);
              req.destroy();
              resolve(chunk.toString());
            });
          });
          const timer = setTimeout(() => {
            req.destroy();
            reject(new Error('no body bytes while the backend stalled: the body was buffered'));
          }, 8_000);
          req.on('error', reject);
          req.end();
        });
        expect(first).toBe('partial ');
      });
    });

    describe('WebSocket', () => {
      it('does not proxy an upgrade yet: the backend sees a plain GET without Upgrade', async () => {
        const reply = await send(balancer.url, '/ws', {
          headers: { host: 'www.apple.com', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
        });
        expect(reply.status).toBe(200);
        expect(echo(reply).headers.upgrade).toBeUndefined();
      });
    });

    describe('client disconnects', () => {
      it(
        facts.cancelsUpstreamOnDisconnect
          ? 'cancels the upstream request when the client goes away'
          : 'keeps the upstream request running when the client goes away (wrangler dev does not pass the disconnect on)',
        async () => {
          const url = new URL(balancer.url);
          const path = `/hang/${runtime}-${Date.now()}`;
          const req = request({ host: url.hostname, port: url.port, path, agent: false, headers: { host: 'streaming.test' } });
          req.on('error', () => {});
          req.end();
          await waitFor(() => streaming.hanging.has(path), 8_000, 'the request never reached the backend');
          req.destroy();
          if (facts.cancelsUpstreamOnDisconnect) {
            await waitFor(() => streaming.abandoned.has(path), 8_000, 'the backend request was not cancelled after the client went away');
          } else {
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            expect(streaming.abandoned.has(path)).toBe(false);
          }
        },
      );
    });
  });
}

/** Spellings that name /messages or /apps; each must be refused (403) or not normalised (400). */
const FIREWALL_SPELLINGS = [
  '/messages',
  '/messages/1',
  '/apps/x/y',
  '/MESSAGES',
  '/%6d%65%73%73%61%67%65%73',
  '/messag%65s',
  '/%61pps',
  '/./messages',
  '/x/../messages',
  '/%2e/messages',
  '/x/%2e%2e/messages',
  '/x/.%2e/messages',
  '/pictures/../messages',
  '//messages',
  '///messages//1',
  '/messages?x=1',
  '/messages;jsessionid=abc',
  '/x/..%2fmessages',
  '/messages%2f1',
  '/x%5c..%5cmessages',
  '/x\\..\\messages',
];

async function waitFor(condition: () => boolean, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A loopback port nothing listens on, for a backend that refuses connections. */
function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
