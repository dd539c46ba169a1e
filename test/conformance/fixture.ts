import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createTestAuthority } from '../helpers/certificates.ts';
import { deadPort as refusingPort } from '../helpers/deadPort.ts';
import { RUNTIME_FACTS, startOnRuntime, type RuntimeBalancer, type RuntimeFacts, type RuntimeName } from '../helpers/runtimes.ts';
import { startTestBackend, type EchoedRequest, type TestBackend } from '../helpers/testBackend.ts';
import { forgetTls, useTls, type Transport } from './client.ts';
import { startStreamingBackend, type StreamingBackend } from './streamingBackend.ts';

/** The balancer on one runtime and the real loopback backends behind it, shared by every case. */
export interface ConformanceFixture {
  readonly runtime: RuntimeName;
  /** How the cases' client reaches the balancer (client.ts picks it from `balancer.url`). */
  readonly transport: Transport;
  readonly facts: RuntimeFacts;
  readonly balancer: RuntimeBalancer;
  readonly mango1: TestBackend;
  readonly mango2: TestBackend;
  readonly apple: TestBackend;
  readonly streaming: StreamingBackend;
  /** A backend that takes connections and never answers, for the mirror that hangs. */
  readonly hanging: HangingBackend;
}

/** bcrypt (cost 4, quick to check) of `wonderland`, alice's password on auth.gates.test. */
const ALICE_HASH = '$2y$04$.V.Nz6T9oiTGwpxzHX8SwuroyjuyguCjs5RQ6quBDQSjNEkADfQba';

/** The names the mango backends answer with, in order. */
export const MANGO_NAMES = ['mango1', 'mango2'];

/** The SNI name the client sends over TLS, whatever the Host: the one name the fixture's certificate holds. */
const SERVERNAME = 'conformance.test';

/**
 * Starts the backends, then the balancer on `runtime` with a config that names them: the tutorial's
 * hosts and rules, and a few routes the proxying cases need.
 * @param transport `https` and `h2` give the config one TLS listener (which offers h2 and
 *   http/1.1 by ALPN) with a certificate from a throw-away CA; the client picks the protocol.
 *   Node and Deno only: on workerd Cloudflare terminates TLS in front of the Worker. @default 'http'
 */
export async function startConformanceFixture(runtime: RuntimeName, transport: Transport = 'http'): Promise<ConformanceFixture> {
  if (runtime === 'workerd' && transport !== 'http') throw new Error('workerd has no TLS listener: Cloudflare terminates TLS in front of the Worker');
  const [mango1, mango2, apple, streaming, hanging] = await Promise.all([
    startTestBackend('mango1'),
    startTestBackend('mango2'),
    startTestBackend('apple1'),
    startStreamingBackend(),
    startHangingBackend(),
  ]);
  const [deadPort, dead1, dead2] = await Promise.all([refusingPort(), refusingPort(), refusingPort()]);
  // JSON, which is YAML too: the same text works as a file (node, deno) and as LB_CONFIG (workerd).
  const config = {
    // Probes wait 5 s rather than 1 s: while the whole suite runs (wrk, Chromium, three runtimes on
    // two cores), a busy machine was seen to time a live backend's probes out three in a row on
    // workerd, and the route answered 503. A dead port is refused at once, whatever the timeout.
    health_check: { timeout: '5s' },
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
      { host: 'sticky.test', sticky: true, servers: [apple.address] },
      // Retries off: with them on, up to `max_buffered_body` of a request body is buffered before
      // it is forwarded (to be replayed), which the request-streaming case would see.
      { host: 'streaming.test', servers: [streaming.address], health_check: false, retries: false },
      // Named pools, splits and the routes' own answers (test/conformance/cases/pools.ts).
      { host: 'a.pools.test', pool: 'pools-mango' },
      { host: 'b.pools.test', pool: 'pools-mango' },
      { host: 'split.pools.test', split: [{ pool: 'pools-mango1', weight: 50 }, { pool: 'pools-mango2', weight: 50 }] },
      { host: 'sticky-split.pools.test', split: [{ pool: 'pools-mango1', weight: 50 }, { pool: 'pools-mango2', weight: 50 }], sticky: true },
      { host: 'redirect.pools.test', redirect: { to: 'https://new.pools.test${path}${query}', status: 301 } },
      { host: 'respond.pools.test', respond: { status: 503, body: 'Down for maintenance\n', headers: { 'Retry-After': '120' } } },
      // Matches (cases/match.ts): each route's backend names which one served.
      { host: 'shop.match.test', match: { cookies: { canary: '1' } }, servers: [mango1.address] },
      { host: 'shop.match.test', servers: [apple.address] },
      { host: 'api.match.test', path: '/api', match: { methods: ['POST', 'PUT'] }, servers: [mango1.address] },
      { host: 'api.match.test', path: '/api', match: { headers: { 'X-Version': '2' } }, servers: [mango2.address] },
      { host: 'api.match.test', path: '/api', match: { headers: { 'User-Agent': { regex: '^curl/' } }, query: { debug: { present: false } } }, servers: [mango1.address] },
      { host: 'api.match.test', path: '/private', match: { headers: { authorization: { present: true } } }, servers: [mango2.address] },
      { host: 'api.match.test', path: '/search', match: { query: { lang: 'pt br' } }, servers: [mango2.address] },
      { host: 'api.match.test', servers: [apple.address] },
      { host: 'w.match.test', path: '/wild', match: { methods: ['POST'] }, servers: [mango1.address] },
      { host: '*.match.test', path: '/wild', servers: [mango2.address] },
      // compress (cases/compress.ts): from 1 KiB, brotli preferred; and gzip only.
      { host: 'on.compress.test', servers: [streaming.address], health_check: false, compress: { min_size: '1KiB' } },
      { host: 'gzip.compress.test', servers: [streaming.address], health_check: false, compress: { algorithms: ['gzip'] } },
      // The edge middleware (cases/gates.ts); apple doubles as the forward_auth service.
      { host: 'cors.gates.test', cors: { origins: ['https://app.gates.test'], credentials: true }, servers: [apple.address] },
      { host: 'auth.gates.test', basic_auth: { realm: 'gates', users: { alice: ALICE_HASH }, user_header: 'X-User' }, servers: [apple.address] },
      { host: 'forward.gates.test', forward_auth: { url: `http://${apple.address}/status/204`, response_headers: ['X-Served-By'] }, servers: [mango1.address] },
      { host: 'denied.gates.test', forward_auth: { url: `http://${apple.address}/status/401` }, servers: [mango1.address] },
      { host: 'authdown.gates.test', forward_auth: { url: `http://127.0.0.1:${deadPort}/` }, servers: [apple.address] },
      { host: 'body.gates.test', max_request_body: 1000, servers: [apple.address] },
      // Mirroring (cases/mirror.ts): mango1 answers; apple gets the copies, or nobody does.
      { host: 'copy.mirror.test', servers: [mango1.address], mirror: { pool: 'mirror-apple' } },
      { host: 'hang.mirror.test', servers: [mango1.address], mirror: { pool: 'mirror-hang' } },
      { host: 'dead.mirror.test', servers: [mango1.address], mirror: { pool: 'mirror-dead' } },
    ],
    pools: {
      'pools-mango': { algorithm: 'round_robin', servers: [mango1.address, mango2.address] },
      'pools-mango1': { servers: [mango1.address] },
      'pools-mango2': { servers: [mango2.address] },
      'mirror-apple': { servers: [apple.address] },
      'mirror-hang': { servers: [hanging.address], health_check: false },
      'mirror-dead': { servers: [`127.0.0.1:${deadPort}`], health_check: false },
    },
    paths: [
      { path: '/mango', servers: [mango1.address, mango2.address] },
      { path: '/apple', servers: [apple.address] },
      { path: '/dead', servers: [`127.0.0.1:${deadPort}`], health_check: false },
    ],
  };
  try {
    if (transport === 'http') {
      // On workerd as wrangler.toml declares it, the SWITCHYARD_STATE binding included.
      const balancer = await startOnRuntime(runtime, JSON.stringify(config));
      return { runtime, transport, facts: RUNTIME_FACTS[runtime], balancer, mango1, mango2, apple, streaming, hanging };
    }
    const authority = await createTestAuthority();
    const { cert, key } = await authority.issue(SERVERNAME);
    const listen = [{ address: '127.0.0.1:0', tls: { certificates: [{ cert, key }] } }];
    const balancer = await startOnRuntime(runtime, JSON.stringify({ listen, ...config }), { configListeners: true });
    useTls(balancer.url, { transport, ca: await readFile(authority.caCert), servername: SERVERNAME });
    return { runtime, transport, facts: RUNTIME_FACTS[runtime], balancer, mango1, mango2, apple, streaming, hanging };
  } catch (error) {
    await Promise.all([mango1, mango2, apple, streaming, hanging].map((backend) => backend.close()));
    throw error;
  }
}

/** Stops the balancer, then the backends. */
export async function stopConformanceFixture(fixture: Partial<ConformanceFixture>): Promise<void> {
  if (fixture.balancer) await forgetTls(fixture.balancer.url);
  await fixture.balancer?.stop();
  await Promise.all([fixture.mango1, fixture.mango2, fixture.apple, fixture.streaming, fixture.hanging].map((backend) => backend?.close()));
}

/** What the echo backend saw, from its JSON answer. */
export const echo = (reply: { json<T>(): T }): EchoedRequest => reply.json<EchoedRequest>();

/** A backend that accepts connections and never answers on them. */
export interface HangingBackend {
  /** `127.0.0.1:PORT`, as a `servers` entry. */
  readonly address: string;
  /** Connections it has taken so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

async function startHangingBackend(): Promise<HangingBackend> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

