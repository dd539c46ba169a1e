import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { trackBody } from '../../src/core/proxy/trackBody.ts';
import { nodeFeed, webFeed, type BodyFeed, type FeedSource } from '../../src/upstream/bodyFeeds.ts';
import { readNodeBody as readNode, readWebBody as readWeb } from '../helpers/readBody.ts';

/** A source that counts what the feed asks of it. */
function source(): FeedSource & { resumed: number; abandoned: number } {
  const counts = {
    resumed: 0,
    abandoned: 0,
    resume: () => void counts.resumed++,
    abandon: () => void counts.abandoned++,
  };
  return counts;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('nodeFeed', () => {
  it('gives the pushed chunks to the reader in order, and ends', async () => {
    const feed = nodeFeed(source());
    feed.push(bytes('one '));
    feed.push(bytes('two'));
    feed.end();
    expect(await readNode(feed.body)).toBe('one two');
  });

  it('says when the reader is full, and asks the source to resume once it reads', async () => {
    const from = source();
    const feed = nodeFeed(from);
    let accepted = true;
    let pushed = 0;
    while (accepted && pushed < 1_000) {
      accepted = feed.push(new Uint8Array(1024));
      pushed++;
    }
    expect(accepted).toBe(false);
    expect(pushed).toBeLessThan(1_000);
    const resumedBefore = from.resumed;
    feed.body.read();
    await tick();
    expect(from.resumed).toBeGreaterThan(resumedBefore);
  });

  it('tells the source once when the reader destroys the body before its end', async () => {
    const from = source();
    const feed = nodeFeed(from);
    feed.push(bytes('part'));
    feed.body.destroy();
    feed.body.destroy();
    await tick();
    expect(from.abandoned).toBe(1);
  });

  it('does not abandon a body that ended, however it is closed afterwards', async () => {
    const from = source();
    const feed = nodeFeed(from);
    feed.push(bytes('all'));
    feed.end();
    expect(await readNode(feed.body)).toBe('all');
    feed.body.destroy();
    expect(from.abandoned).toBe(0);
  });

  it('fails the reader with the error, and a failure nobody reads does not crash the process', async () => {
    const from = source();
    const unread = nodeFeed(from);
    unread.fail(new Error('reset by backend'));
    await tick();
    expect(unread.body.errored).toMatchObject({ message: 'reset by backend' });

    const read = nodeFeed(source());
    read.push(bytes('part'));
    read.fail(new Error('reset by backend'));
    await expect(readNode(read.body)).rejects.toThrow('reset by backend');
    expect(from.abandoned).toBe(0);
  });
});

describe('nodeFeed abandoned', () => {
  it('emits no error when the reader destroys it and the source answers the abort with an error at once', async () => {
    let feed!: BodyFeed<Readable>;
    feed = nodeFeed({ resume: () => {}, abandon: () => feed.fail(new Error('Request aborted')) });
    feed.push(bytes('part'));
    feed.body.destroy();
    await tick();
    expect(feed.body.errored).toBeNull();
  });
});

describe('webFeed', () => {
  it('gives the pushed chunks to the reader in order, as plain Uint8Arrays, and ends', async () => {
    const feed = webFeed(source());
    feed.push(Buffer.from('one '));
    feed.push(bytes('two'));
    feed.end();
    const reader = feed.body.getReader();
    const first = await reader.read();
    expect(first.value?.constructor).toBe(Uint8Array);
    reader.releaseLock();
    expect(Buffer.from(first.value!).toString() + (await readWeb(feed.body))).toBe('one two');
  });

  it('says when its queue is full, and asks the source to resume when the reader pulls', async () => {
    const from = source();
    const feed = webFeed(from);
    let accepted = true;
    let pushed = 0;
    while (accepted && pushed < 1_000) {
      accepted = feed.push(new Uint8Array(1024));
      pushed++;
    }
    expect(accepted).toBe(false);
    expect(pushed).toBe(64);
    const resumedBefore = from.resumed;
    const reader = feed.body.getReader();
    await reader.read();
    await tick();
    expect(from.resumed).toBeGreaterThan(resumedBefore);
  });

  it('tells the source once when the reader cancels before the end, and drops later chunks', async () => {
    const from = source();
    const feed = webFeed(from);
    feed.push(bytes('part'));
    await feed.body.cancel();
    expect(from.abandoned).toBe(1);
    expect(feed.push(bytes('late'))).toBe(true);
    expect(() => feed.end()).not.toThrow();
  });

  it('errors the reader when the source fails', async () => {
    const feed = webFeed(source());
    feed.push(bytes('part'));
    feed.fail(new Error('reset by backend'));
    await expect(readWeb(feed.body)).rejects.toThrow('reset by backend');
  });
});

describe('trackBody over a fed web stream', () => {
  const track = (feed: BodyFeed<ReadableStream<Uint8Array>>) => {
    const events: string[] = [];
    const tracked = trackBody(feed.body, () => events.push('done'), (error) => events.push(`error ${(error as Error).message}`));
    return { tracked, events };
  };

  it('adds no wrapper stream, and reports the end once', async () => {
    const feed = webFeed(source());
    const { tracked, events } = track(feed);
    expect(tracked).toBe(feed.body);
    feed.push(bytes('all of it'));
    feed.end();
    expect(await readWeb(tracked)).toBe('all of it');
    expect(events).toEqual(['done']);
  });

  it('reports a failing source as an error, then the end, once', async () => {
    const feed = webFeed(source());
    const { events } = track(feed);
    feed.fail(new Error('socket reset'));
    feed.fail(new Error('again'));
    expect(events).toEqual(['error socket reset', 'done']);
  });

  it('reports a reader that goes away as the end, not as a failure', async () => {
    const feed = webFeed(source());
    const { tracked, events } = track(feed);
    await tracked.cancel();
    expect(events).toEqual(['done']);
  });

  it('reports a reader that goes away as the end even when the source answers the abort with an error at once, as undici does', async () => {
    let feed!: BodyFeed<ReadableStream<Uint8Array>>;
    feed = webFeed({ resume: () => {}, abandon: () => feed.fail(new Error('Request aborted')) });
    const { tracked, events } = track(feed);
    feed.push(bytes('part'));
    await tracked.cancel();
    expect(events).toEqual(['done']);
  });

  it('tells a listener that subscribes after the end at once', () => {
    const feed = webFeed(source());
    feed.end();
    const { events } = track(feed);
    expect(events).toEqual(['done']);
  });
});
