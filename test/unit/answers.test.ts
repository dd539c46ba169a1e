import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as answers from '../../src/core/answers.ts';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';

/** The rows of docs/requests.md's table of statuses the balancer answers itself: `[400, 'Bad Request']`, ... */
function documentedStatuses(): [number, string][] {
  const page = readFileSync(join(PROJECT_ROOT, 'docs/requests.md'), 'utf8');
  const table = page.slice(page.indexOf('## Status codes the balancer answers itself'));
  return Array.from(table.matchAll(/^\| `(\d{3}) ([^`]+)` \|/gm), (row): [number, string] => [Number(row[1]), row[2]]);
}

/** `Request Header Fields Too Large` -> `requestHeaderFieldsTooLarge`, `URI Too Long` -> `uriTooLong`. */
function constructorName(reason: string): string {
  return reason
    .split(' ')
    .map((word, i) => (i === 0 ? word.toLowerCase() : word[0].toUpperCase() + word.slice(1).toLowerCase()))
    .join('');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe("the balancer's own answers", () => {
  const rows = documentedStatuses();

  it('have one constructor per documented status, named after its reason phrase', () => {
    expect(rows.map(([status]) => status)).toEqual([308, 400, 401, 403, 404, 405, 408, 413, 414, 429, 431, 500, 501, 502, 503, 504]);
    const constructors = answers as unknown as Record<string, (...args: never[]) => answers.OwnAnswer>;
    for (const [status, reason] of rows) {
      const make = constructors[constructorName(reason)];
      expect(make, `answers.${constructorName(reason)}`).toBeTypeOf('function');
      const answer = make(...(['why'] as never[]));
      expect(answer.status).toBe(status);
      expect(answer.body.startsWith(reason)).toBe(true);
      expect(answer.body.endsWith('\n')).toBe(true);
      expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
    // Besides one constructor per row: `redirect` makes the row of a route's redirect statuses,
    // which names no one reason; CORS's 403 and the gates' 503 and 504 say what the edge middleware
    // saw; certificatePending's 503 that tls.acme has yet to obtain a name's certificate.
    const variants: Record<string, number> = { originForbidden: 403, gateUnavailable: 503, gateTimeout: 504, certificatePending: 503 };
    for (const [name, status] of Object.entries(variants)) expect(constructors[name](...(['why', 'cause'] as never[])).status).toBe(status);
    expect(Object.keys(answers).filter((name) => name !== 'redirect' && !(name in variants)).sort()).toEqual(rows.map(([, reason]) => constructorName(reason)).sort());
  });

  it("make a route's redirect with each status its row documents, and the location", () => {
    const page = readFileSync(join(PROJECT_ROOT, 'docs/requests.md'), 'utf8');
    expect(page).toContain("| `301`, `302`, `307`, `308` | a route's `redirect`");
    for (const status of [301, 302, 307, 308] as const) {
      const answer = answers.redirect(status, '/elsewhere');
      expect(answer.status).toBe(status);
      expect(answer.headers.get('location')).toBe('/elsewhere');
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('say why where the row has several causes, and carry the fields their status asks for', () => {
    expect(answers.badRequest('the Host header is not a host').body).toBe('Bad Request: the Host header is not a host\n');
    expect(answers.notImplemented('CONNECT is not proxied').body).toBe('Not Implemented: CONNECT is not proxied\n');
    expect(answers.serviceUnavailable('www.mango.com').body).toBe('Service Unavailable: no healthy backend for www.mango.com\n');
    expect(answers.internalServerError().body).toBe('Internal Server Error\n');
    expect(answers.methodNotAllowed().headers.get('allow')).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(answers.tooManyRequests(1500).headers.get('retry-after')).toBe('2');
  });

  it('are the only answers src/ makes: no status built by hand elsewhere', () => {
    const src = join(PROJECT_ROOT, 'src');
    const handMade = sourceFiles(src)
      .filter((file) => !file.endsWith('answers.ts'))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          // A verdict that says `why` a status would be answered (explain's) describes an answer, and builds none.
          // The admin API's JSON errors (`{ error: ... }`, the Worker's /metrics and /status too) answer operators, not clients.
          .flatMap((line, i) => (/(writeHead|status:|rawAnswer|plainAnswer|plainResponse)\W*\(?\s*[45]\d\d\b/.test(line) && !/\bwhy:|\{ error: /.test(line) ? [`${relative(src, file)}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(handMade).toEqual([]);
  });
});
