import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type RunningBalancer } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';

// The path firewall against every spelling that names a rejected resource, sent as raw bytes
// over TCP so that no client library normalises the request-target first. A spelling is held
// when the balancer refuses it (403, or 400 for a path it will not normalise) and the backend
// never sees it.

let backend: TestBackend;
let balancer: RunningBalancer;

beforeAll(async () => {
  backend = await startTestBackend('guarded');
  balancer = await startBalancer(`
hosts:
  - host: www.mango.com
    firewall_rules:
      path_reject: [/messages, /apps]
    servers: [${backend.address}]
`);
});

afterAll(async () => {
  await balancer?.stop();
  await backend?.close();
});

/** Sends one raw request and resolves with the status code of the answer. */
function rawStatus(requestLine: string, host = 'www.mango.com'): Promise<number> {
  const { hostname, port } = new URL(balancer.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 'latin1');
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (match) resolve(Number(match[1]));
      else reject(new Error(`no status line in ${JSON.stringify(data.slice(0, 200))}`));
    });
  });
}

const seenByBackend = () => backend.seen.filter((request) => request.url !== '/healthcheck').map((request) => request.url);

const SPELLINGS = [
  '/messages',
  '/messages/',
  '/messages/1',
  '/apps',
  '/apps/x/y',
  // letters in either case
  '/MESSAGES',
  '/Messages/1',
  // percent-encoding of unreserved characters, escapes in either case
  '/%6d%65%73%73%61%67%65%73',
  '/%6D%65%73%73%61%67%65%73',
  '/messag%65s',
  '/m%45ssages/1',
  '/%61pps',
  // dot segments, plain and encoded
  '/./messages',
  '/x/../messages',
  '/x/y/../../messages/1',
  '/%2e/messages',
  '/x/%2e%2e/messages',
  '/x/%2E%2E/messages',
  '/x/.%2e/messages',
  '/x/%2e./messages',
  '/messages/./',
  // dot segments with servlet-style parameters, which Tomcat and Jetty resolve
  '/public/..;/messages',
  '/x/..;/messages/1',
  '/.;/messages',
  '/a/%2e%2e;/messages',
  '/pictures/../messages',
  // repeated and trailing slashes
  '//messages',
  '///messages//1',
  '/messages//',
  '/./././/messages',
  // query and fragment
  '/messages?x=1',
  '/messages?',
  '/messages#frag',
  '/messages?a=/../pictures#x',
  // path parameters, as servlet containers read them
  '/messages;jsessionid=abc',
  '/messages;x/1',
  // a URL in the query of an origin-form target is not the target (it once was taken for one)
  '/messages?next=http://x/pictures',
  // absolute-form request-target (RFC 9112 section 3.2.2)
  'http://www.mango.com/messages',
  'http://www.mango.com/x/%2e%2e/messages',
  // spellings a backend might decode into another path: refused outright
  '/x/..%2fmessages',
  '/messages%2f1',
  '/x%5c..%5cmessages',
  '/x\\..\\messages',
];

describe('the path firewall over raw TCP', () => {
  it.each(SPELLINGS)('holds against GET %s', async (target) => {
    const before = seenByBackend().length;
    const status = await rawStatus(`GET ${target} HTTP/1.1`);
    expect([400, 403]).toContain(status);
    expect(seenByBackend().slice(before)).toEqual([]);
  });

  it.each(['/pictures', '/messages-archive', '/x/messages', '/messagesx', '/%6dessages-archive'])('lets GET %s through', async (target) => {
    expect(await rawStatus(`GET ${target} HTTP/1.1`)).toBe(200);
  });

  it('forwards an origin-form target whose query holds a URL as it is', async () => {
    const before = seenByBackend().length;
    expect(await rawStatus('GET /pictures?next=http://x/messages HTTP/1.1')).toBe(200);
    expect(seenByBackend().slice(before)).toEqual(['/pictures?next=http://x/messages']);
  });

  it("routes an absolute-form target by its own authority, not the Host header's", async () => {
    // RFC 9112 section 3.2.2: the target's host wins, so the route's firewall applies.
    expect(await rawStatus('GET http://www.mango.com/messages HTTP/1.1', 'elsewhere.example')).toBe(403);
    expect(await rawStatus('GET http://www.mango.com/pictures HTTP/1.1', 'elsewhere.example')).toBe(200);
  });

  it('refuses the rejected paths for every method', async () => {
    for (const method of ['HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      expect(await rawStatus(`${method} /x/%2E%2e/MESSAGES HTTP/1.1`), method).toBe(403);
    }
  });

  it('refuses the rejected paths whatever the Host spelling of the route', async () => {
    for (const host of ['WWW.MANGO.COM', 'www.mango.com.', 'www.mango.com:80']) {
      expect(await rawStatus('GET /messages HTTP/1.1', host), host).toBe(403);
    }
  });
});
