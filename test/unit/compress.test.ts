import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compileCompress, type CompressSettings } from '../../src/core/compress/CompressSettings.ts';
import { compressAnswer } from '../../src/core/compress/compressAnswer.ts';
import { decideCompression, type CompressionAbility } from '../../src/core/compress/decideCompression.ts';
import { negotiateCoding } from '../../src/core/compress/negotiateCoding.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { webBodies } from '../../src/core/proxy/webBodies.ts';
import type { ContentCoding } from '../../src/core/Upstream.ts';

const BOTH: ContentCoding[] = ['br', 'gzip'];

describe('negotiateCoding (Accept-Encoding, RFC 9110 section 12.5.3)', () => {
  const coding = (header: string | null, offered = BOTH) => negotiateCoding(header, offered).coding;

  it('compresses nothing for a request without Accept-Encoding', () => {
    expect(negotiateCoding(null, BOTH)).toEqual({ coding: undefined, reason: 'the request has no Accept-Encoding' });
  });

  it('compresses nothing for an empty Accept-Encoding (identity only)', () => {
    expect(coding('')).toBeUndefined();
  });

  it('prefers the first offered coding when the client accepts several equally', () => {
    expect(coding('gzip, deflate, br')).toBe('br');
    expect(coding('gzip, br', ['gzip', 'br'])).toBe('gzip');
  });

  it('takes the coding the client weighs highest', () => {
    expect(coding('br;q=0.5, gzip;q=0.8')).toBe('gzip');
    expect(coding('br;q=1.000, gzip;q=0.999')).toBe('br');
  });

  it('never picks a coding weighed q=0', () => {
    expect(coding('br;q=0, gzip')).toBe('gzip');
    expect(coding('gzip;q=0', ['gzip'])).toBeUndefined();
    expect(coding('br;q=0.0, gzip;Q=0')).toBeUndefined();
  });

  it('reads * as every coding not named, and names over *', () => {
    expect(coding('*')).toBe('br');
    expect(coding('*;q=0.5, gzip')).toBe('gzip');
    expect(coding('br;q=0, *')).toBe('gzip');
    expect(coding('*;q=0')).toBeUndefined();
  });

  it('compresses when identity is refused, and not when identity is weighed above every coding', () => {
    expect(coding('identity;q=0, gzip')).toBe('gzip');
    expect(negotiateCoding('identity, gzip;q=0.5', BOTH)).toEqual({ coding: undefined, reason: 'the client prefers identity (q=1) to gzip (q=0.5)' });
  });

  it('takes names without case and spaces, and x-gzip as gzip', () => {
    expect(coding(' GZip ; q=0.9 ', ['gzip'])).toBe('gzip');
    expect(coding('x-gzip', ['gzip'])).toBe('gzip');
  });

  it('ignores an element whose weight is not one', () => {
    expect(coding('br;q=2, gzip;q=0.1')).toBe('gzip');
    expect(coding('br;q=0.1234, gzip;q=abc')).toBeUndefined();
    expect(coding('br;q=, gzip')).toBe('gzip');
  });

  // Its cost is one split and one anchored, unnested pattern per element: linear in the header,
  // which the head limits bound (16 KiB). Timing it here would only measure the machine.
  it('reads a header of thousands of unknown codings to the one it accepts', () => {
    expect(coding('a;q=0.5,'.repeat(2000) + 'gzip')).toBe('gzip');
    expect(coding(`${'x;q=1;q=1;q=1,'.repeat(1000)}br;q=0`)).toBeUndefined();
  });
});

describe('compress settings', () => {
  it('compresses text, JSON, JavaScript, XML, SVG and WebAssembly by default, and not images or archives', () => {
    const settings = compileCompress(true)!;
    for (const type of ['text/html', 'text/css', 'text/event-stream', 'application/json', 'application/problem+json', 'application/javascript', 'application/xml', 'application/atom+xml', 'image/svg+xml', 'application/wasm']) {
      expect(settings.compressesType(type), type).toBe(true);
    }
    for (const type of ['image/png', 'image/jpeg', 'video/mp4', 'application/zip', 'application/octet-stream', 'font/woff2', 'application/jsonx']) {
      expect(settings.compressesType(type), type).toBe(false);
    }
    expect(settings.minSize).toBe(1024);
    expect(settings.codings).toEqual(['br', 'gzip']);
  });

  it('takes types, min_size and algorithms from the config, types replacing the defaults', () => {
    const settings = compileCompress({ types: ['application/*+yaml', 'Text/CSV'], min_size: 10, algorithms: ['gzip'] })!;
    expect(settings.compressesType('application/openapi+yaml')).toBe(true);
    expect(settings.compressesType('text/csv')).toBe(true);
    expect(settings.compressesType('text/html')).toBe(false);
    expect(settings.minSize).toBe(10);
    expect(settings.codings).toEqual(['gzip']);
    expect(compileCompress({ types: ['*/*'] })!.compressesType('image/png')).toBe(true);
  });

  it('is off when unset or false', () => {
    expect(compileCompress(undefined)).toBeUndefined();
    expect(compileCompress(false)).toBeUndefined();
  });

  const route = (extra: string) => `compress: true\npaths:\n  - path: /\n    servers: [localhost:1]\n${extra}`;

  it("applies the top level's to every route, a route's replacing it, and false turning it off", () => {
    const config = loadConfig(`compress: { min_size: 5 }\npaths:\n  - path: /a\n    servers: [localhost:1]\n  - path: /b\n    servers: [localhost:1]\n    compress: false\n  - path: /c\n    servers: [localhost:1]\n    compress: { algorithms: [gzip] }\n`);
    const [a, b, c] = config.routesInOrder;
    expect(a.compress?.minSize).toBe(5);
    expect(b.compress).toBeUndefined();
    expect(c.compress?.minSize).toBe(1024);
    expect(c.compress?.codings).toEqual(['gzip']);
  });

  it('reads min_size with a unit', () => {
    expect(loadConfig(route('    compress: { min_size: 2KiB }\n')).routesInOrder[0].compress?.minSize).toBe(2048);
  });

  it('names the field of a mistake', () => {
    expect(() => loadConfig(route('    compress: { algorithms: [zstd] }\n'))).toThrow(/paths\[0\]\.compress\.algorithms\[0\]: "zstd" is not a compression algorithm; expected br or gzip/);
    expect(() => loadConfig(route('    compress: { algorithms: [gzip, gzip] }\n'))).toThrow(/compress\.algorithms: algorithms names an algorithm twice/);
    expect(() => loadConfig(route('    compress: { types: [html] }\n'))).toThrow(/compress\.types\[0\]: "html" is not a media type pattern/);
    expect(() => loadConfig(route('    compress: { min_size: 2GiB }\n'))).toThrow(/compress\.min_size/);
    expect(() => loadConfig(route('    compress: { level: 9 }\n'))).toThrow(/compress/);
  });
});

describe('decideCompression', () => {
  const settings: CompressSettings = compileCompress({ min_size: 100 })!;
  const node: CompressionAbility = { codings: new Set(BOTH), flushesEachChunk: true };
  const headers = (fields: Record<string, string>) => new FieldList(Object.entries(fields).flatMap(([name, value]) => [name, value]));
  const text = { 'content-type': 'text/html; charset=utf-8', 'content-length': '5000' };
  const decide = (fields: Record<string, string> = text, { status = 200, method = 'GET', accept = 'gzip, br' as string | null, ability = node, hasBody = true } = {}) =>
    decideCompression(settings, ability, method, accept, { status, headers: headers(fields), hasBody });

  it('compresses a large text response the client accepts, and varies on Accept-Encoding', () => {
    expect(decide()).toEqual({ coding: 'br', vary: true });
    expect(decide(text, { accept: 'gzip' })).toEqual({ coding: 'gzip', vary: true });
  });

  it('leaves a response the client does not accept compressed, still varying on Accept-Encoding', () => {
    expect(decide(text, { accept: null })).toMatchObject({ coding: undefined, vary: true });
    expect(decide(text, { accept: 'deflate' })).toMatchObject({ coding: undefined, vary: true, reason: 'the client accepts none of br, gzip' });
  });

  it('never compresses a HEAD, a 1xx, 204, 206 or 304, nor a response without a body', () => {
    expect(decide(text, { method: 'HEAD' })).toMatchObject({ coding: undefined, vary: false });
    for (const status of [101, 204, 206, 304]) expect(decide(text, { status }), String(status)).toMatchObject({ coding: undefined, reason: `a ${status} response is not compressed` });
    expect(decide(text, { hasBody: false })).toMatchObject({ coding: undefined });
  });

  it('compresses other statuses with a body, errors included', () => {
    expect(decide(text, { status: 404 }).coding).toBe('br');
    expect(decide(text, { status: 503 }).coding).toBe('br');
  });

  it('leaves a response the backend encoded as it is', () => {
    expect(decide({ ...text, 'content-encoding': 'gzip' })).toMatchObject({ coding: undefined, vary: false, reason: 'the backend sent it encoded (gzip)' });
    expect(decide({ ...text, 'content-encoding': 'identity' }).coding).toBe('br');
  });

  it('respects Cache-Control: no-transform', () => {
    expect(decide({ ...text, 'cache-control': 'public, no-transform' })).toMatchObject({ coding: undefined, reason: 'Cache-Control: no-transform' });
    expect(decide({ ...text, 'cache-control': 'no-transformer' }).coding).toBe('br');
  });

  it('leaves a range alone', () => {
    expect(decide({ ...text, 'content-range': 'bytes 0-99/5000' }).coding).toBeUndefined();
  });

  it('compresses only the listed types, and nothing without a Content-Type', () => {
    expect(decide({ 'content-type': 'image/png', 'content-length': '5000' })).toMatchObject({ coding: undefined, vary: false, reason: 'image/png is not a type compressed' });
    expect(decide({ 'content-type': 'Application/JSON', 'content-length': '5000' }).coding).toBe('br');
    expect(decide({ 'content-length': '5000' })).toMatchObject({ coding: undefined, reason: 'the response has no Content-Type' });
  });

  it('compresses from min_size up, and a body of unknown length', () => {
    expect(decide({ 'content-type': 'text/plain', 'content-length': '99' })).toMatchObject({ coding: undefined, vary: false, reason: 'Content-Length 99 is below min_size 100' });
    expect(decide({ 'content-type': 'text/plain', 'content-length': '100' }).coding).toBe('br');
    expect(decide({ 'content-type': 'text/event-stream' }).coding).toBe('br');
  });

  it('leaves a body of unknown length alone where the runtime cannot flush each chunk', () => {
    const workerd: CompressionAbility = { codings: new Set(BOTH), flushesEachChunk: false };
    expect(decide({ 'content-type': 'text/event-stream' }, { ability: workerd })).toMatchObject({ coding: undefined, vary: false });
    expect(decide(text, { ability: workerd }).coding).toBe('br');
  });

  it('falls back to gzip where the runtime has no brotli', () => {
    const gzipOnly: CompressionAbility = { codings: new Set(['gzip']), flushesEachChunk: false };
    expect(decide(text, { ability: gzipOnly, accept: 'br, gzip' }).coding).toBe('gzip');
    expect(decide(text, { ability: gzipOnly, accept: 'br' })).toMatchObject({ coding: undefined, vary: true });
  });
});

describe('compressAnswer', () => {
  const exchange = (accept?: string) => ({ method: 'GET', headers: new Headers(accept ? { 'accept-encoding': accept } : {}) });
  const settings = compileCompress({ min_size: 10, algorithms: ['gzip'] })!;
  const body = 'hello compress '.repeat(50);
  const answer = (fields: Record<string, string>) => ({ status: 200, headers: new Headers({ 'content-type': 'text/plain', 'content-length': String(body.length), ...fields }), body: new TextEncoder().encode(body) });

  it('sets Content-Encoding, drops Content-Length and Accept-Ranges, weakens a strong ETag, adds to Vary, and compresses the body', async () => {
    const { answer: sent } = compressAnswer(settings, webBodies, exchange('gzip'), answer({ etag: '"v1"', 'accept-ranges': 'bytes', vary: 'Origin' }));
    expect(sent.headers.get('content-encoding')).toBe('gzip');
    expect(sent.headers.has('content-length')).toBe(false);
    expect(sent.headers.has('accept-ranges')).toBe(false);
    expect(sent.headers.get('etag')).toBe('W/"v1"');
    expect(sent.headers.get('vary')).toBe('Origin, accept-encoding');
    const bytes = Buffer.from(await new Response(sent.body as ReadableStream).arrayBuffer());
    expect(gunzipSync(bytes).toString()).toBe(body);
  });

  it('keeps a weak ETag and a Vary that names Accept-Encoding or * as they are', () => {
    const { answer: sent } = compressAnswer(settings, webBodies, exchange('gzip'), answer({ etag: 'W/"v1"', vary: 'Accept-Encoding' }));
    expect(sent.headers.get('etag')).toBe('W/"v1"');
    expect(sent.headers.get('vary')).toBe('Accept-Encoding');
    expect(compressAnswer(settings, webBodies, exchange('gzip'), answer({ vary: '*' })).answer.headers.get('vary')).toBe('*');
  });

  it('leaves the answer unchanged, but for Vary, when the client accepts no coding', () => {
    const original = answer({ etag: '"v1"' });
    const { answer: sent, decision } = compressAnswer(settings, webBodies, exchange(), original);
    expect(decision).toMatchObject({ coding: undefined, reason: 'the request has no Accept-Encoding' });
    expect(sent.body).toBe(original.body);
    expect(sent.headers.get('content-length')).toBe(String(body.length));
    expect(sent.headers.get('etag')).toBe('"v1"');
    expect(sent.headers.get('vary')).toBe('accept-encoding');
  });
});
