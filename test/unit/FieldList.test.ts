import { describe, expect, it } from 'vitest';
import { FieldList } from '../../src/core/http/FieldList.ts';
import type { HeaderFields } from '../../src/core/http/HeaderFields.ts';
import { removeHopByHop } from '../../src/core/http/hopByHop.ts';

const fieldsOf = (headers: HeaderFields): [string, string][] => {
  const fields: [string, string][] = [];
  headers.forEach((value, name) => fields.push([name, value]));
  return fields;
};

describe('FieldList', () => {
  it('lower-cases names from a raw list and keeps their order and duplicates', () => {
    const list = FieldList.fromRaw(['Host', 'a.test', 'X-Tag', 'one', 'ACCEPT', '*/*', 'x-tag', 'Two']);
    expect(list.flat).toEqual(['host', 'a.test', 'x-tag', 'one', 'accept', '*/*', 'x-tag', 'Two']);
  });

  it('gets a field whatever the case of the name asked for', () => {
    const list = FieldList.fromRaw(['Content-Type', 'text/plain']);
    expect(list.get('content-type')).toBe('text/plain');
    expect(list.get('CONTENT-TYPE')).toBe('text/plain');
    expect(list.get('content-length')).toBeNull();
  });

  it.each<[string, [string, string][]]>([
    ['a repeated field', [['X-A', '1'], ['x-b', 'b'], ['x-a', '2'], ['X-A', '3']]],
    ['set-cookie fields', [['Set-Cookie', 'a=1; Path=/'], ['set-cookie', 'b=2']]],
    ['an empty value among others', [['x-a', ''], ['x-a', 'z']]],
  ])('joins %s with ", " exactly as Headers.get does', (_, pairs) => {
    const list = FieldList.fromRaw(pairs.flat());
    const headers = new Headers(pairs);
    for (const name of ['x-a', 'X-A', 'x-b', 'set-cookie', 'absent']) expect(list.get(name)).toBe(headers.get(name));
  });

  it('has a field whatever the case, and not one it lacks', () => {
    const list = FieldList.fromRaw(['X-Tag', '']);
    expect(list.has('x-tag')).toBe(true);
    expect(list.has('X-TAG')).toBe(true);
    expect(list.has('x-ta')).toBe(false);
  });

  it('set replaces every field of that name with one, at the end', () => {
    const list = FieldList.fromRaw(['x-a', '1', 'host', 'h', 'X-A', '2']);
    list.set('X-a', '3');
    expect(list.flat).toEqual(['host', 'h', 'x-a', '3']);
  });

  it('append keeps the fields already there', () => {
    const list = new FieldList(['set-cookie', 'a=1']);
    list.append('Set-Cookie', 'b=2');
    expect(list.flat).toEqual(['set-cookie', 'a=1', 'set-cookie', 'b=2']);
    expect(list.get('set-cookie')).toBe('a=1, b=2');
  });

  it('delete removes every field of a name, any case, and leaves the others in order', () => {
    const list = FieldList.fromRaw(['a', '1', 'X-Gone', 'g1', 'b', '2', 'x-gone', 'g2', 'c', '3']);
    list.delete('X-GONE');
    expect(list.flat).toEqual(['a', '1', 'b', '2', 'c', '3']);
  });

  it('deleting an absent name changes nothing', () => {
    const list = FieldList.fromRaw(['a', '1', 'b', '2']);
    list.delete('c');
    expect(list.flat).toEqual(['a', '1', 'b', '2']);
  });

  it('forEach yields each field on its own, set-cookie one by one, names lower-case', () => {
    const list = FieldList.fromRaw(['Set-Cookie', 'a=1', 'X-A', '1', 'set-cookie', 'b=2', 'x-a', '2']);
    expect(fieldsOf(list)).toEqual([
      ['set-cookie', 'a=1'],
      ['x-a', '1'],
      ['set-cookie', 'b=2'],
      ['x-a', '2'],
    ]);
  });

  it('copies a Headers object, set-cookie fields kept apart', () => {
    const headers = new Headers([['X-A', '1'], ['Set-Cookie', 'a=1'], ['set-cookie', 'b=2']]);
    const copy = FieldList.copyOf(headers);
    expect(copy.get('x-a')).toBe('1');
    expect(fieldsOf(copy).filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    copy.set('x-a', 'changed');
    expect(headers.get('x-a')).toBe('1');
  });

  it('copies another FieldList without sharing its array', () => {
    const original = FieldList.fromRaw(['x-a', '1', 'x-a', '2']);
    const copy = FieldList.copyOf(original);
    expect(copy.flat).toEqual(original.flat);
    expect(copy.flat).not.toBe(original.flat);
    copy.append('x-b', 'b');
    original.delete('x-a');
    expect(original.flat).toEqual([]);
    expect(copy.flat).toEqual(['x-a', '1', 'x-a', '2', 'x-b', 'b']);
  });

  it('gives [name, value] pairs in order that Headers accepts', () => {
    const list = FieldList.fromRaw(['X-A', '1', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2']);
    expect(list.pairs()).toEqual([
      ['x-a', '1'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    expect(new Headers(list.pairs()).getSetCookie()).toEqual(['a=1', 'b=2']);
  });
});

describe('removeHopByHop', () => {
  const hopByHop = [
    'Connection', 'close',
    'Keep-Alive', 'timeout=5',
    'Proxy-Connection', 'keep-alive',
    'TE', 'trailers',
    'Trailer', 'x-checksum',
    'Transfer-Encoding', 'chunked',
    'Upgrade', 'websocket',
  ];

  it('removes every hop-by-hop field and keeps the rest in order', () => {
    const list = FieldList.fromRaw(['Host', 'a.test', ...hopByHop, 'Accept', '*/*', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2']);
    removeHopByHop(list);
    expect(list.flat).toEqual(['host', 'a.test', 'accept', '*/*', 'set-cookie', 'a=1', 'set-cookie', 'b=2']);
  });

  it('removes the fields Connection names, any case, spaces around the commas', () => {
    const list = FieldList.fromRaw(['X-Keep', '1', 'Connection', 'close ,X-Private,  x-trace-ID ', 'x-private', 'p', 'X-Trace-Id', 't', 'x-after', '2']);
    removeHopByHop(list);
    expect(list.flat).toEqual(['x-keep', '1', 'x-after', '2']);
  });

  it('reads every Connection field, not only the first', () => {
    const list = FieldList.fromRaw(['Connection', 'x-one', 'x-one', '1', 'Connection', 'x-two', 'x-two', '2', 'x-three', '3']);
    removeHopByHop(list);
    expect(list.flat).toEqual(['x-three', '3']);
  });

  it('ignores names in Connection that are not tokens, and still removes the ones that are', () => {
    const list = FieldList.fromRaw(['Connection', 'x-a, x b, "x-c", x-d', 'x-a', 'a', 'x b', 'b', '"x-c"', 'c', 'x-d', 'd', 'x-c', 'kept']);
    removeHopByHop(list);
    expect(list.flat).toEqual(['x b', 'b', '"x-c"', 'c', 'x-c', 'kept']);
  });

  it('gives a Headers object the same result as a FieldList', () => {
    const raw = ['Host', 'a.test', ...hopByHop.slice(2), 'Connection', 'Keep-Alive, X-Private, x b', 'X-Private', 'p', 'Accept', '*/*', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'];
    const list = FieldList.fromRaw(raw);
    const headers = new Headers();
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    removeHopByHop(list);
    removeHopByHop(headers);
    const sorted = (fields: [string, string][]) => fields.slice().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted(fieldsOf(headers))).toEqual(sorted(fieldsOf(list)));
    expect(sorted(fieldsOf(headers))).toEqual([
      ['accept', '*/*'],
      ['host', 'a.test'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
  });
});
