import { describe, expect, it } from 'vitest';
import { MinuteWindow } from '../../src/core/observe/MinuteWindow.ts';

const SECOND = 1000;

/** Adds `requests` at `atMs`, the first `errors` of them failed. */
function addMany(window: MinuteWindow, atMs: number, requests: number, errors = 0): void {
  for (let i = 0; i < requests; i++) window.add(i < errors, atMs);
}

describe('MinuteWindow', () => {
  it('counts nothing before anything is added', () => {
    expect(new MinuteWindow().totals(0)).toEqual({ requests: 0, errors: 0 });
    expect(new MinuteWindow().totals(123_456_789)).toEqual({ requests: 0, errors: 0 });
  });

  it('counts requests and errors apart, within the same second', () => {
    const window = new MinuteWindow();
    addMany(window, 5_000, 4, 1);
    window.add(true, 5_999);
    expect(window.totals(5_999)).toEqual({ requests: 5, errors: 2 });
  });

  it('counts every second of the last 60, however they are spread', () => {
    const window = new MinuteWindow();
    for (let second = 100; second < 160; second++) window.add(second % 10 === 0, second * SECOND + 500);
    expect(window.totals(159 * SECOND + 999)).toEqual({ requests: 60, errors: 6 });
  });

  it('keeps a second for 60 seconds and forgets it at the 60th', () => {
    const window = new MinuteWindow();
    addMany(window, 1_000, 3, 1);
    expect(window.totals(60_999)).toEqual({ requests: 3, errors: 1 });
    expect(window.totals(61_000)).toEqual({ requests: 0, errors: 0 });
  });

  it('forgets older seconds and keeps the recent ones', () => {
    const window = new MinuteWindow();
    addMany(window, 0, 7, 7);
    addMany(window, 30 * SECOND, 2);
    expect(window.totals(65 * SECOND)).toEqual({ requests: 2, errors: 0 });
  });

  it('starts a slot afresh when its second comes round again after a wrap', () => {
    const window = new MinuteWindow();
    addMany(window, 5 * SECOND, 3, 2);
    // 60 seconds later the same slot holds a new second: the old counts are gone, not added to.
    addMany(window, 65 * SECOND, 1);
    expect(window.totals(65 * SECOND)).toEqual({ requests: 1, errors: 0 });
    addMany(window, 125 * SECOND + 10, 2, 1);
    expect(window.totals(125 * SECOND + 10)).toEqual({ requests: 2, errors: 1 });
  });

  it('starts a slot afresh after a gap of many minutes', () => {
    const window = new MinuteWindow();
    addMany(window, 10 * SECOND, 9, 9);
    addMany(window, (10 + 60 * 37) * SECOND, 1);
    expect(window.totals((10 + 60 * 37) * SECOND)).toEqual({ requests: 1, errors: 0 });
  });

  it('does not count seconds later than the time asked about (a clock that went back)', () => {
    const window = new MinuteWindow();
    addMany(window, 10 * SECOND, 1);
    addMany(window, 100 * SECOND, 4, 4);
    // At 50 s, the second 10 is within the minute and the second 100 is still to come.
    expect(window.totals(50 * SECOND)).toEqual({ requests: 1, errors: 0 });
    expect(window.totals(90 * SECOND)).toEqual({ requests: 0, errors: 0 });
    expect(window.totals(100 * SECOND)).toEqual({ requests: 4, errors: 4 });
  });

  it('counts the second a time falls in whole, from its first millisecond to its last', () => {
    const window = new MinuteWindow();
    window.add(false, 42_000);
    window.add(false, 42_999);
    expect(window.totals(42_000)).toEqual({ requests: 2, errors: 0 });
    expect(window.totals(41_999)).toEqual({ requests: 0, errors: 0 });
  });

  it('takes fractional milliseconds, as performance.now() gives them', () => {
    const window = new MinuteWindow();
    window.add(true, 1234.5678);
    window.add(false, 1999.9999);
    expect(window.totals(2000.0001)).toEqual({ requests: 2, errors: 1 });
  });

  it('adds counts from elsewhere in one step, to the same second as one by one', () => {
    const window = new MinuteWindow();
    window.addCounts(100_000, 3, 7_500);
    addMany(window, 7_900, 2, 1);
    expect(window.totals(8_000)).toEqual({ requests: 100_002, errors: 4 });
    expect(window.totals(67_000)).toEqual({ requests: 0, errors: 0 });
  });
});
