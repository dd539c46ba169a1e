import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcmeStorage } from '../../src/acme/acmeStorage.ts';
import { Http01Answers } from '../../src/acme/Http01Answers.ts';

// Issue 17, point 1: the HTTP-01 answers a plain listener gives (RFC 8555 section 8.3), its own
// and those another process sharing the storage directory published.

describe('Http01Answers', () => {
  it('answers a pending token with exactly its key authorization, and logs it', async () => {
    const lines: string[] = [];
    const answers = new Http01Answers((line) => lines.push(line));
    answers.add('tok_1-A', 'a.test', 'tok_1-A.thumbprint');
    const answer = await answers.answer('/.well-known/acme-challenge/tok_1-A', '192.0.2.1');
    expect(answer).toMatchObject({ status: 200, body: 'tok_1-A.thumbprint' });
    expect(answer!.headers.get('content-type')).toBe('application/octet-stream');
    expect(lines).toEqual(['acme: a.test: answered the http-01 challenge for 192.0.2.1']);
  });

  it('leaves every other path to the routes', () => {
    const answers = new Http01Answers(() => {});
    expect(answers.answer('/', undefined)).toBeUndefined();
    expect(answers.answer('/.well-known/other', undefined)).toBeUndefined();
  });

  it('answers 404 for a token it does not know, a removed one, or one that is not base64url', async () => {
    const answers = new Http01Answers(() => {});
    answers.add('gone', 'a.test', 'gone.x');
    answers.remove('gone');
    for (const path of ['/.well-known/acme-challenge/gone', '/.well-known/acme-challenge/', '/.well-known/acme-challenge/../../etc/passwd', '/.well-known/acme-challenge/a%2Fb']) {
      expect((await answers.answer(path, undefined))?.status, path).toBe(404);
    }
  });

  it('answers a token another process sharing the storage directory published', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-acme-unit-'));
    const ours = new AcmeStorage(dir);
    const theirs = new AcmeStorage(dir);
    await theirs.open();
    const answers = new Http01Answers(() => {});
    answers.share(ours);
    await theirs.saveChallenge('their_token', 'their_token.thumb');
    expect(await answers.answer('/.well-known/acme-challenge/their_token', undefined)).toMatchObject({ status: 200, body: 'their_token.thumb' });
    await theirs.removeChallenge('their_token');
    expect((await answers.answer('/.well-known/acme-challenge/their_token', undefined))?.status).toBe(404);
  });
});
