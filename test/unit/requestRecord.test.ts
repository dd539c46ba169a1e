import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { ErrorLog } from '../../src/core/ErrorLog.ts';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { RequestRecord } from '../../src/core/observe/RequestRecord.ts';
import { admit, forwardAdmitted, type ClientRequest } from '../../src/core/proxy/admit.ts';
import { webBodies } from '../../src/core/proxy/webBodies.ts';
import { requestIdFrom } from '../../src/core/rules/requestId.ts';
import type { Upstream, UpstreamRequest } from '../../src/core/Upstream.ts';
import { UpstreamError } from '../../src/core/UpstreamError.ts';
import { admitted, clientRequest, refused } from '../helpers/clientRequest.ts';
import { manualClock } from '../helpers/manualClock.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Admits `request` with a record of its own; returns both. */
function admitRecorded(config: Parameters<typeof admit>[0], request: ClientRequest) {
  const record = new RequestRecord();
  return { result: admit(config, request, record), record };
}

const plain = loadConfig(`
health_check: false
hosts:
  - host: app.test
    servers: [localhost:8081]
`);

describe('requestIdFrom', () => {
  it.each([
    ['a UUID', 'd0813717-26df-4b19-8542-f204cfc05056'],
    ['a single character', 'a'],
    ['200 characters', 'x'.repeat(200)],
    ['every allowed punctuation', 'A-z_0.9~a:b+c/d=e@f'],
    ['base64', 'dGhpcyBpcyBhIHRlc3Q='],
  ])("keeps the client's X-Request-Id when it is valid: %s", (_, id) => {
    expect(requestIdFrom(new FieldList(['x-request-id', id]))).toBe(id);
  });

  it.each([
    ['an empty value', ''],
    ['a space', 'a b'],
    ['201 characters', 'x'.repeat(201)],
    ['a double quote', 'a"b'],
    ['a single quote', "a'b"],
    ['a control character', 'a\u0001b'],
    ['a tab', 'a\tb'],
    ['a non-ASCII letter', 'caf\u00e9'],
    ['a forged log field', 'x route=evil'],
    ['a percent sign', 'a%20b'],
  ])('replaces an invalid X-Request-Id with a new UUID: %s', (_, id) => {
    const made = requestIdFrom(new FieldList(['x-request-id', id]));
    expect(made).not.toBe(id);
    expect(made).toMatch(UUID);
  });

  it('makes a new UUID, a different one each time, when the client sent none', () => {
    const one = requestIdFrom(new FieldList([]));
    const two = requestIdFrom(new Headers());
    expect(one).toMatch(UUID);
    expect(two).toMatch(UUID);
    expect(one).not.toBe(two);
  });
});

describe('admit: the request id', () => {
  it("keeps a valid client id and sends it upstream, in the exchange and in the record", () => {
    const { result, record } = admitRecorded(plain, clientRequest({ headers: ['host', 'app.test', 'x-request-id', 'abc-123'] }));
    const { outgoing, exchange } = admitted(result);
    expect(outgoing.headers.get('x-request-id')).toBe('abc-123');
    expect(exchange.requestId).toBe('abc-123');
    expect(record.requestId).toBe('abc-123');
  });

  it('replaces an invalid client id, upstream too: the backend never sees what the client forged', () => {
    const forged = 'x" route=evil';
    const { result, record } = admitRecorded(plain, clientRequest({ headers: ['host', 'app.test', 'x-request-id', forged] }));
    const { outgoing } = admitted(result);
    expect(record.requestId).toMatch(UUID);
    expect(outgoing.headers.get('x-request-id')).toBe(record.requestId);
    expect(outgoing.headers.get('x-request-id')).not.toContain('evil');
  });

  it('replaces an id over 200 characters, and makes one when there is none', () => {
    const long = admitRecorded(plain, clientRequest({ headers: ['host', 'app.test', 'x-request-id', 'a'.repeat(201)] }));
    expect(admitted(long.result).outgoing.headers.get('x-request-id')).toMatch(UUID);
    const none = admitRecorded(plain, clientRequest());
    expect(admitted(none.result).outgoing.headers.get('x-request-id')).toBe(none.record.requestId);
    expect(none.record.requestId).toMatch(UUID);
  });

  it('sends one X-Request-Id upstream even when the client sent two', () => {
    const { result, record } = admitRecorded(plain, clientRequest({ headers: ['host', 'app.test', 'x-request-id', 'one', 'x-request-id', 'two'] }));
    const { outgoing } = admitted(result);
    let count = 0;
    outgoing.headers.forEach((_, name) => void (name === 'x-request-id' && count++));
    expect(count).toBe(1);
    expect(outgoing.headers.get('x-request-id')).toBe(record.requestId);
  });
});

describe('admit: refusals carry the request id', () => {
  const guarded = loadConfig(`
health_check: false
hosts:
  - host: app.test
    servers: [localhost:8081]
    firewall_rules: { path_reject: [/private] }
`);

  it.each([
    ['404 for no route', clientRequest({ headers: ['host', 'nowhere.test', 'x-request-id', 'client-id-1'] }), 404],
    ['403 from the firewall', clientRequest({ target: '/private', headers: ['host', 'app.test', 'x-request-id', 'client-id-1'] }), 403],
    ['400 for a path that cannot be normalised', clientRequest({ target: '/a/%2F', headers: ['host', 'app.test', 'x-request-id', 'client-id-1'] }), 400],
    ['400 for a Host that is not a host', clientRequest({ headers: ['host', 'app.test/x', 'x-request-id', 'client-id-1'] }), 400],
    ['501 for CONNECT', clientRequest({ method: 'CONNECT', target: 'app.test:443', headers: ['host', 'app.test', 'x-request-id', 'client-id-1'] }), 501],
  ])('answers %s with the client id in x-request-id', (_, request, status) => {
    const { result, record } = admitRecorded(guarded, request);
    const answer = refused(result);
    expect(answer.status).toBe(status);
    expect(answer.headers.get('x-request-id')).toBe('client-id-1');
    expect(record.requestId).toBe('client-id-1');
  });

  it('answers a refusal with a made id when the client sent none, the same one the record keeps', () => {
    const { result, record } = admitRecorded(guarded, clientRequest({ target: '/private' }));
    const answer = refused(result);
    expect(answer.headers.get('x-request-id')).toMatch(UUID);
    expect(answer.headers.get('x-request-id')).toBe(record.requestId);
  });
});

describe('admit: what the record learns', () => {
  it('fills method, host, normalised path, raw query, client, route and id for a request let in, with no error and no refusal', () => {
    const config = loadConfig(`
health_check: false
trusted_proxies: [10.0.0.0/8]
hosts:
  - host: app.test
    servers: [localhost:8081]
`);
    const { result, record } = admitRecorded(
      config,
      clientRequest({ method: 'POST', target: '/a/./b//c?x=%2F&y', peer: '10.0.0.2', headers: ['host', 'app.test', 'x-forwarded-for', '198.51.100.1', 'x-request-id', 'req-7'] }),
    );
    const { exchange } = admitted(result);
    expect(record).toMatchObject({ method: 'POST', host: 'app.test', path: '/a/b/c', query: '?x=%2F&y', client: '198.51.100.1', requestId: 'req-7' });
    expect(record.route).toBe(exchange.route);
    expect(record.route?.name).toBe('app.test');
    expect(record.error).toBeUndefined();
    expect(record.refusedBy).toBeUndefined();
    expect(record.attempts).toEqual([]);
  });

  it('records no route and the error "Not Found" for a request no route takes, and no refusal by a guard', () => {
    const { result, record } = admitRecorded(plain, clientRequest({ target: '/x?y=1', headers: ['host', 'nowhere.test'] }));
    expect(refused(result).status).toBe(404);
    expect(record).toMatchObject({ method: 'GET', host: 'nowhere.test', path: '/x', query: '?y=1', client: '192.0.2.10', error: 'Not Found' });
    expect(record.route).toBeUndefined();
    expect(record.refusedBy).toBeUndefined();
  });

  it('records the path as sent, and the 400 as its error, when the path cannot be normalised', () => {
    const { result, record } = admitRecorded(plain, clientRequest({ target: '/a/%2F/b?q' }));
    expect(refused(result).status).toBe(400);
    expect(record.path).toBe('/a/%2F/b');
    expect(record.query).toBe('?q');
    expect(record.error).toBe('Bad Request: the path cannot be normalised safely');
    expect(record.refusedBy).toBeUndefined();
  });

  it.each([
    ['path_reject', 'firewall_rules: { path_reject: [/private] }', clientRequest({ target: '/private/x' })],
    ['ip_reject', 'firewall_rules: { ip_reject: [192.0.2.0/24] }', clientRequest()],
    ['ip_allow', 'firewall_rules: { ip_allow: [203.0.113.0/24] }', clientRequest()],
    ['method_allow', 'firewall_rules: { method_allow: [GET] }', clientRequest({ method: 'DELETE' })],
    ['header_reject', 'firewall_rules: { header_reject: { X-Evil: ["^yes$"] } }', clientRequest({ headers: ['host', 'app.test', 'x-evil', 'yes'] })],
    ['user_agent_reject', 'firewall_rules: { user_agent_reject: ["^curl/"] }', clientRequest({ headers: ['host', 'app.test', 'user-agent', 'curl/8.0'] })],
  ])('records a firewall 403 from %s as refused by the firewall, naming the rule', (rule, rules, request) => {
    const config = loadConfig(`
health_check: false
hosts:
  - host: app.test
    servers: [localhost:8081]
    ${rules}
`);
    const { result, record } = admitRecorded(config, request);
    const answer = refused(result);
    expect(answer.status).toBe(403);
    // The client is not told which rule refused it.
    expect(answer.body).toBe('Forbidden\n');
    expect(record.refusedBy).toBe('firewall');
    expect(record.error).toBe(`firewall: ${rule}`);
    expect(record.route?.name).toBe('app.test');
  });

  it('records a refusal by the top-level firewall as the firewall too', () => {
    const config = loadConfig(`
health_check: false
firewall_rules: { ip_reject: [192.0.2.10] }
hosts:
  - host: app.test
    servers: [localhost:8081]
`);
    const { result, record } = admitRecorded(config, clientRequest());
    expect(refused(result).status).toBe(403);
    expect(record).toMatchObject({ refusedBy: 'firewall', error: 'firewall: ip_reject' });
  });

  it('records a 429 as refused by the rate limit, and the request before it as let in', () => {
    const clock = manualClock();
    const config = loadConfig(
      `
health_check: false
hosts:
  - host: app.test
    servers: [localhost:8081]
    rate_limit: { requests: 1, per: 1m }
`,
      'lb.yaml',
      { now: clock.now },
    );
    const first = admitRecorded(config, clientRequest());
    admitted(first.result);
    expect(first.record.refusedBy).toBeUndefined();
    const second = admitRecorded(config, clientRequest());
    expect(refused(second.result).status).toBe(429);
    expect(second.record.refusedBy).toBe('rate_limit');
    expect(second.record.error).toBe('Too Many Requests');
    expect(second.record.route?.name).toBe('app.test');
  });
});

type Behaviour = number | 'refused' | 'reset' | 'timeout';

/** A fake upstream: per origin, a status to answer (with its own X-Request-Id) or a failure to throw. */
function fakeUpstream(behaviours: Record<string, Behaviour>) {
  const calls: UpstreamRequest[] = [];
  const upstream: Upstream = async (request) => {
    calls.push(request);
    const behaviour = behaviours[request.origin] ?? 200;
    if (behaviour === 'refused') throw new UpstreamError('connect', `connect ECONNREFUSED ${request.origin.slice(7)}`);
    if (behaviour === 'reset') throw new UpstreamError('failed', 'other side closed');
    if (behaviour === 'timeout') throw new UpstreamError('timeout', 'no response headers within 60000 ms');
    return new Response(`from ${request.origin}`, { status: behaviour, headers: { 'x-request-id': 'backend-made-this' } });
  };
  return { upstream, calls };
}

const A = 'http://localhost:8081';
const B = 'http://localhost:8082';

/** Two backends taken in turn, a fresh config each time so the rotation starts at localhost:8081. */
const pair = () =>
  loadConfig(`
health_check: false
passive_health: false
algorithm: round_robin
hosts:
  - host: app.test
    servers: [localhost:8081, localhost:8082]
    response_header_rules: { set: { X-Request-Id: set-by-a-rule } }
`);

/** Admits and forwards one request through `upstream`; the answer and the record. */
async function send(upstream: Upstream, request = clientRequest(), config = pair()) {
  const record = new RequestRecord();
  const lines: string[] = [];
  const result = admitted(admit(config, request, record));
  const answer = await forwardAdmitted(result, { upstream, bodies: webBodies, signal: new AbortController().signal, errorLog: new ErrorLog((line) => lines.push(line)) });
  return { answer, record, lines };
}

describe('forward: what the record learns', () => {
  it('lists the one try and the status the backend answered, with no error', async () => {
    const fake = fakeUpstream({ [A]: 404, [B]: 404 });
    const { answer, record } = await send(fake.upstream);
    expect(answer.status).toBe(404);
    expect(record.attempts).toHaveLength(1);
    expect(record.attempts[0].status).toBe(404);
    expect(record.attempts[0].backend.origin).toBe(fake.calls[0].origin);
    expect(record.backend?.origin).toBe(fake.calls[0].origin);
    expect(record.upstreamStatus).toBe(404);
    expect(record.error).toBeUndefined();
  });

  it('lists each try in order after a retry: the one that could not connect with no status', async () => {
    const fake = fakeUpstream({ [A]: 'refused' });
    const { answer, record } = await send(fake.upstream);
    expect(answer.status).toBe(200);
    expect(record.attempts.map((attempt) => [attempt.backend.origin, attempt.status])).toEqual([
      [A, undefined],
      [B, 200],
    ]);
    expect(record.backend?.origin).toBe(B);
    expect(record.upstreamStatus).toBe(200);
    expect(record.error).toBeUndefined();
  });

  it('sets the error to the cause of a 503 when no backend could be connected to', async () => {
    const fake = fakeUpstream({ [A]: 'refused', [B]: 'refused' });
    const { answer, record, lines } = await send(fake.upstream);
    expect(answer.status).toBe(503);
    expect(record.attempts.map((attempt) => attempt.status)).toEqual([undefined, undefined]);
    expect(record.error).toMatch(/^no backend could be connected to: backend http:\/\/localhost:808[12]: connect ECONNREFUSED localhost:808[12] \(2 backends tried\)$/);
    expect(lines.join('\n')).toContain(record.error!);
  });

  it('sets the error to the cause of a 502 when the backend failed', async () => {
    const fake = fakeUpstream({ [A]: 'reset', [B]: 'reset' });
    const { answer, record } = await send(fake.upstream, clientRequest({ method: 'POST', headers: ['host', 'app.test', 'content-length', '0'] }));
    expect(answer.status).toBe(502);
    expect(record.attempts).toHaveLength(1);
    expect(record.attempts[0].status).toBeUndefined();
    expect(record.error).toMatch(/^backend http:\/\/localhost:808[12]: other side closed$/);
  });

  it('sets the error to the cause of a 504 when the backend timed out', async () => {
    const fake = fakeUpstream({ [A]: 'timeout', [B]: 'timeout' });
    const { answer, record } = await send(fake.upstream, clientRequest({ method: 'POST', headers: ['host', 'app.test', 'content-length', '0'] }));
    expect(answer.status).toBe(504);
    expect(record.error).toMatch(/^backend http:\/\/localhost:808[12]: no response headers within 60000 ms$/);
  });

  it('sets the error to the cause of a 503 when every backend is down, with no try listed', async () => {
    const checked = loadConfig(`
hosts:
  - host: app.test
    servers: [localhost:8081]
`);
    checked.backends[0].health.recordProbe(false, 'GET /healthcheck -> 500');
    const fake = fakeUpstream({});
    const { answer, record } = await send(fake.upstream, clientRequest(), checked);
    expect(answer.status).toBe(503);
    expect(fake.calls).toHaveLength(0);
    expect(record.attempts).toEqual([]);
    expect(record.error).toBe('no healthy backend: its one backend is down by health checks');
  });

  it('keeps a 5xx the backend itself answered as its status, with no error of the balancer', async () => {
    const fake = fakeUpstream({ [A]: 503, [B]: 503 });
    const { answer, record } = await send(fake.upstream);
    expect(answer.status).toBe(503);
    expect(record.upstreamStatus).toBe(503);
    expect(record.error).toBeUndefined();
  });
});

describe('forwardAdmitted: the request id on the answer', () => {
  it("sends the id upstream and sets it on the answer over the backend's own and a response rule's", async () => {
    const fake = fakeUpstream({});
    const { answer, record } = await send(fake.upstream, clientRequest({ headers: ['host', 'app.test', 'x-request-id', 'client-id-9'] }));
    expect(fake.calls[0].headers.get('x-request-id')).toBe('client-id-9');
    expect(answer.headers.get('x-request-id')).toBe('client-id-9');
    expect(record.requestId).toBe('client-id-9');
  });

  it('sets a made id on the answer, the same one sent upstream, when the client sent an invalid one', async () => {
    const fake = fakeUpstream({});
    const { answer, record } = await send(fake.upstream, clientRequest({ headers: ['host', 'app.test', 'x-request-id', 'not valid'] }));
    expect(record.requestId).toMatch(UUID);
    expect(fake.calls[0].headers.get('x-request-id')).toBe(record.requestId);
    expect(answer.headers.get('x-request-id')).toBe(record.requestId);
  });

  it("sets the id on the balancer's own 502 too", async () => {
    const fake = fakeUpstream({ [A]: 'reset', [B]: 'reset' });
    const { answer, record } = await send(fake.upstream, clientRequest({ method: 'POST', headers: ['host', 'app.test', 'content-length', '0', 'x-request-id', 'id-502'] }));
    expect(answer.status).toBe(502);
    expect(answer.headers.get('x-request-id')).toBe('id-502');
    expect(record.requestId).toBe('id-502');
  });
});
