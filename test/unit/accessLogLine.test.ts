import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { jsonLine, rfc3339, textLine } from '../../src/core/observe/accessLogLine.ts';
import { RequestRecord, type Attempt } from '../../src/core/observe/RequestRecord.ts';

const config = loadConfig(`
health_check: false
hosts:
  - host: www.mango.com
    servers: [127.0.0.1:8081, "http://127.0.0.1:8082/base"]
`);
const route = config.routesInOrder[0];
const [first, second] = config.backends;

const STARTED_AT = Date.parse('2026-11-30T07:29:33.393Z');

type RecordFields = Partial<Pick<RequestRecord, 'method' | 'host' | 'path' | 'query' | 'client' | 'requestId' | 'route' | 'error' | 'bytesSent'>>;

/** A record that arrived at STARTED_AT (`arrived` on the monotonic clock) with `fields` and the `attempts` made, finished with `status` at `at`. */
function finished({ arrived = 0, attempts = [], status, at, ...fields }: RecordFields & { arrived?: number; attempts?: Attempt[]; status: number; at: number }): RequestRecord {
  const record = Object.assign(new RequestRecord({ wall: STARTED_AT, monotonic: arrived }), fields);
  record.attempts.push(...attempts);
  record.finish(status, at);
  return record;
}

/** The docs' example request: GET www.mango.com/a?b=1 from 192.0.2.7, answered 200 with 9 bytes by the first backend. */
const answered = () =>
  finished({
    method: 'GET',
    host: 'www.mango.com',
    path: '/a',
    query: '?b=1',
    client: '192.0.2.7',
    requestId: 'd0813717-26df-4b19-8542-f204cfc05056',
    route,
    attempts: [{ backend: first, status: 200 }],
    bytesSent: 9,
    arrived: 1000,
    status: 200,
    at: 1022.696,
  });

/** A request the balancer answered itself before knowing anything of where it would go. */
const unknownEverything = () => finished({ method: 'GET', path: '/nowhere', requestId: 'id-1', error: 'Not Found', bytesSent: 10, status: 404, at: 0.5 });

/** Splits a text line back into its fields: 8 positional ones, then `key=value` pairs; JSON strings decoded. */
function splitTextLine(line: string): { positional: string[]; named: Record<string, string> } {
  const tokens = line.match(/(?:[a-z_]+=)?(?:"(?:[^"\\]|\\.)*"|[^ "]+)/g) ?? [];
  expect(tokens.join(' '), 'the tokens are the whole line').toBe(line);
  const decode = (value: string) => (value.startsWith('"') ? (JSON.parse(value) as string) : value);
  const positional = tokens.slice(0, 8).map(decode);
  const named: Record<string, string> = {};
  for (const token of tokens.slice(8)) {
    const at = token.indexOf('=');
    named[token.slice(0, at)] = decode(token.slice(at + 1));
  }
  return { positional, named };
}

describe('jsonLine', () => {
  it('writes exactly the documented fields, in the documented order, for a forwarded request', () => {
    const fields = JSON.parse(jsonLine(answered()));
    expect(fields).toEqual({
      time: '2026-11-30T07:29:33.393Z',
      client: '192.0.2.7',
      method: 'GET',
      host: 'www.mango.com',
      path: '/a',
      query: 'b=1',
      status: 200,
      bytes_sent: 9,
      duration_ms: 22.696,
      route: 'www.mango.com',
      backend: '127.0.0.1:8081',
      attempts: 1,
      request_id: 'd0813717-26df-4b19-8542-f204cfc05056',
      upstream_status: 200,
    });
    expect(Object.keys(fields)).toEqual(['time', 'client', 'method', 'host', 'path', 'query', 'status', 'bytes_sent', 'duration_ms', 'route', 'backend', 'attempts', 'request_id', 'upstream_status']);
  });

  it('is one line: no newline inside or at the end', () => {
    const record = answered();
    record.path = '/a\nb';
    record.error = 'line one\nline two';
    expect(jsonLine(record)).not.toMatch(/[\r\n]/);
  });

  it('leaves query out when the request had none, and gives it without its ? when it had one', () => {
    const record = answered();
    record.query = '';
    expect(JSON.parse(jsonLine(record))).not.toHaveProperty('query');
    record.query = '?x=%2F&y';
    expect(JSON.parse(jsonLine(record)).query).toBe('x=%2F&y');
  });

  it('leaves error out unless the balancer answered itself or something failed, and gives it as set', () => {
    expect(jsonLine(answered())).not.toContain('"error"');
    const record = unknownEverything();
    const fields = JSON.parse(jsonLine(record));
    expect(fields.error).toBe('Not Found');
    expect(Object.keys(fields).at(-1)).toBe('error');
  });

  it('writes null for what is unknown: client, host, route, backend and upstream status; attempts 0', () => {
    const fields = JSON.parse(jsonLine(unknownEverything()));
    expect(fields).toMatchObject({ client: null, host: null, route: null, backend: null, upstream_status: null, attempts: 0, status: 404, bytes_sent: 10 });
    expect(Object.keys(fields)).toEqual(['time', 'client', 'method', 'host', 'path', 'status', 'bytes_sent', 'duration_ms', 'route', 'backend', 'attempts', 'request_id', 'upstream_status', 'error']);
  });

  it('gives time as RFC 3339 in UTC, to the millisecond: the arrival on the wall clock', () => {
    const record = new RequestRecord({ wall: Date.UTC(2027, 0, 2, 3, 4, 5, 6), monotonic: 123_456 });
    record.finish(200, 123_460);
    const { time } = JSON.parse(jsonLine(record));
    expect(time).toBe('2027-01-02T03:04:05.006Z');
    expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('rounds duration_ms to the microsecond', () => {
    const durations: [number, number][] = [
      [1.23456789, 1.235],
      [22.6964, 22.696],
      [0.0004, 0],
      [0.0006, 0.001],
      [1500, 1500],
    ];
    for (const [measured, logged] of durations) {
      expect(JSON.parse(jsonLine(finished({ status: 200, at: measured }))).duration_ms, String(measured)).toBe(logged);
    }
  });

  it('names the backend that answered after retries, with its base path and without http://, and counts every try', () => {
    const record = answered();
    record.attempts.length = 0;
    record.attempts.push({ backend: first, status: undefined }, { backend: second, status: 503 });
    const fields = JSON.parse(jsonLine(record));
    expect(fields.backend).toBe('127.0.0.1:8082/base');
    expect(fields.attempts).toBe(2);
    expect(fields.upstream_status).toBe(503);
  });

  it('gives a null upstream status when the last backend tried never answered', () => {
    const record = answered();
    record.attempts.length = 0;
    record.attempts.push({ backend: first, status: undefined });
    record.error = 'backend http://127.0.0.1:8081: connect ECONNREFUSED 127.0.0.1:8081';
    const fields = JSON.parse(jsonLine(record));
    expect(fields).toMatchObject({ backend: '127.0.0.1:8081', attempts: 1, upstream_status: null, error: 'backend http://127.0.0.1:8081: connect ECONNREFUSED 127.0.0.1:8081' });
  });
});

describe('textLine', () => {
  it('writes the docs example in its fixed order', () => {
    expect(textLine(answered())).toBe(
      '2026-11-30T07:29:33.393Z 192.0.2.7 GET www.mango.com /a?b=1 200 9 22.696ms route=www.mango.com backend=127.0.0.1:8081 attempts=1 upstream_status=200 request_id=d0813717-26df-4b19-8542-f204cfc05056',
    );
  });

  it('writes - for what is unknown, and the error last as a JSON string', () => {
    expect(textLine(unknownEverything())).toBe(
      '2026-11-30T07:29:33.393Z - GET - /nowhere 404 10 0.500ms route=- backend=- attempts=0 upstream_status=- request_id=id-1 error="Not Found"',
    );
  });

  it('writes no error field when there is none', () => {
    expect(textLine(answered())).not.toContain('error=');
  });

  it('JSON-quotes a value the client chose that holds a space, a quote or a control character, so the line splits back into the same fields', () => {
    const record = answered();
    record.method = 'GE T';
    record.host = 'www.mango.com"evil';
    record.path = '/a b';
    record.query = '?q="x"\n200 9 1.000ms route=forged';
    record.client = 'client\twith tab';
    record.error = 'why "this" failed\r\nfake line';
    const line = textLine(record);
    expect(line).not.toMatch(/[\r\n\t]/);
    const { positional, named } = splitTextLine(line);
    expect(positional).toEqual([
      '2026-11-30T07:29:33.393Z',
      'client\twith tab',
      'GE T',
      'www.mango.com"evil',
      '/a b?q="x"\n200 9 1.000ms route=forged',
      '200',
      '9',
      '22.696ms',
    ]);
    expect(named).toEqual({
      route: 'www.mango.com',
      backend: '127.0.0.1:8081',
      attempts: '1',
      upstream_status: '200',
      request_id: 'd0813717-26df-4b19-8542-f204cfc05056',
      error: 'why "this" failed\r\nfake line',
    });
  });

  it('quotes an empty value rather than leaving a field out', () => {
    const record = answered();
    record.host = '';
    const { positional } = splitTextLine(textLine(record));
    expect(positional[3]).toBe('');
    expect(positional).toHaveLength(8);
  });

  it('quotes characters outside printable ASCII (DEL, non-ASCII), and leaves a plain value bare', () => {
    const record = answered();
    record.path = '/caf\u00e9\u007f';
    const line = textLine(record);
    expect(line).toContain(' "/caf\u00e9\u007f?b=1" ');
    expect(splitTextLine(line).positional[4]).toBe('/caf\u00e9\u007f?b=1');
    expect(textLine(answered())).toContain(' /a?b=1 ');
  });

  it('names a backend with a base path and the number of tries after a retry', () => {
    const record = answered();
    record.attempts.length = 0;
    record.attempts.push({ backend: first, status: undefined }, { backend: second, status: 200 });
    const { named } = splitTextLine(textLine(record));
    expect(named).toMatchObject({ backend: '127.0.0.1:8082/base', attempts: '2', upstream_status: '200' });
  });
});

describe('the JSON line, written by hand', () => {
  it('writes the time as toISOString does, across seconds, years and leap days', () => {
    const times = [0, 999, 1000, 1_700_000_000_123, 951_782_400_000 - 1, 951_782_400_007, 4_102_444_799_999];
    for (let i = 0; i < 2000; i++) times.push(Math.floor(1_500_000_000_000 + i * 7_919_311.3));
    for (const ms of times) expect(rfc3339(ms)).toBe(new Date(ms).toISOString());
  });

  it('escapes whatever a client or a backend chose as JSON.stringify would, so the line always parses to the same values', () => {
    const record = new RequestRecord({ wall: 1_700_000_000_001, monotonic: 0 });
    Object.assign(record, { method: 'GE"T', host: 'a\\b\u0000c\u2028', path: '/p"\n\t', query: '?q=\u00e9"', client: '::1', requestId: 'id"x', error: 'bad "thing"\r\n' });
    record.finish(502, 1.5);
    const parsed = JSON.parse(jsonLine(record));
    expect(parsed).toEqual({
      time: '2023-11-14T22:13:20.001Z',
      client: '::1',
      method: 'GE"T',
      host: 'a\\b\u0000c\u2028',
      path: '/p"\n\t',
      query: 'q=\u00e9"',
      status: 502,
      bytes_sent: 0,
      duration_ms: 1.5,
      route: null,
      backend: null,
      attempts: 0,
      request_id: 'id"x',
      upstream_status: null,
      error: 'bad "thing"\r\n',
    });
    expect(Object.keys(parsed)).toEqual(['time', 'client', 'method', 'host', 'path', 'query', 'status', 'bytes_sent', 'duration_ms', 'route', 'backend', 'attempts', 'request_id', 'upstream_status', 'error']);
  });
});
