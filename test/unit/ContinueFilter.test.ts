import { describe, expect, it } from 'vitest';
import { ContinueFilter } from '../../src/upstream/ContinueFilter.ts';

const FINAL = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

/** What undici would read of `chunks` after a request went out, as latin-1 text. */
function filtered(chunks: string[], filter = new ContinueFilter()): string {
  filter.expectResponse();
  let out = '';
  for (const chunk of chunks) out += filter.take(Buffer.from(chunk, 'latin1'))?.toString('latin1') ?? '';
  return out;
}

/** `text` cut at every pair of places (every way into three pieces, the empty ones included). */
function everySplit(text: string): string[][] {
  const splits: string[][] = [];
  for (let a = 0; a <= text.length; a++) for (let b = a; b <= text.length; b++) splits.push([text.slice(0, a), text.slice(a, b), text.slice(b)]);
  return splits;
}

describe('ContinueFilter', () => {
  it.each([
    ['a 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n', FINAL],
    ['a 100 with header fields and no reason phrase', 'HTTP/1.1 100 \r\nx-a: 1\r\nx-b: 2\r\n\r\n', FINAL],
    ['a 100 whose lines end in bare LF', 'HTTP/1.0 100 Continue\nx-a: 1\n\n', FINAL],
    ['two 100s', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n', FINAL],
  ])('drops %s before the final response, wherever the chunks are cut', (_, interim, final) => {
    for (const chunks of everySplit(interim + final)) expect(filtered(chunks), JSON.stringify(chunks)).toBe(final);
  });

  it('keeps other interim responses (undici reads past them) and drops the 100s between them', () => {
    const hints = 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n';
    const input = 'HTTP/1.1 100 Continue\r\n\r\n' + hints + 'HTTP/1.1 100 Continue\r\n\r\n' + FINAL;
    for (const chunks of everySplit(input)) expect(filtered(chunks), JSON.stringify(chunks)).toBe(hints + FINAL);
  });

  it('leaves a final response alone, its body too, even when the body holds a 100 Continue', () => {
    const response = 'HTTP/1.1 200 OK\r\ncontent-length: 25\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n';
    for (const chunks of everySplit(response)) expect(filtered(chunks), JSON.stringify(chunks)).toBe(response);
  });

  it('keeps the empty lines a backend sends before a status line, as undici skips them itself', () => {
    expect(filtered(['\r\n', 'HTTP/1.1 100 Continue\r\n\r\n\r\n', FINAL])).toBe('\r\n\r\n' + FINAL);
  });

  it('passes anything that is not a status line, and a 101 and what follows it', () => {
    expect(filtered(['garbage HTTP/1.1 100 Continue\r\n\r\n'])).toBe('garbage HTTP/1.1 100 Continue\r\n\r\n');
    const upgrade = 'HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n';
    expect(filtered([upgrade])).toBe(upgrade);
  });

  it('looks only where a response starts: after a request went out, not before one did', () => {
    const filter = new ContinueFilter();
    const continues = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    expect(filter.take(continues)).toBe(continues);
    expect(filtered(['HTTP/1.1 100 Continue\r\n\r\n', FINAL], filter)).toBe(FINAL);
    expect(filter.take(continues)).toBe(continues); // inside the final response's body
    expect(filtered(['HTTP/1.1 100 Continue\r\n\r\n', FINAL], filter)).toBe(FINAL); // the next request on the connection
  });

  it('hands the very chunk on when there is nothing to drop', () => {
    const filter = new ContinueFilter();
    filter.expectResponse();
    const chunk = Buffer.from(FINAL, 'latin1');
    expect(filter.take(chunk)).toBe(chunk);
  });

  it('answers null while it has nothing to pass on yet', () => {
    const filter = new ContinueFilter();
    filter.expectResponse();
    expect(filter.take(Buffer.from('HTTP/1.1 1', 'latin1'))).toBeNull();
    expect(filter.take(Buffer.from('00 Continue\r\n', 'latin1'))).toBeNull();
    expect(filter.take(Buffer.from('\r\nHTTP/1.1 2', 'latin1'))).toBeNull();
    expect(filter.take(Buffer.from('04 No Content\r\n\r\n', 'latin1'))?.toString('latin1')).toBe('HTTP/1.1 204 No Content\r\n\r\n');
  });
});
