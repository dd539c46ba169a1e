import { describe, expect, it } from 'vitest';
import { wholeNumberPattern } from '../../src/core/config/schema/wholeNumberPattern.ts';

describe('wholeNumberPattern', () => {
  it.each([
    [0, 0],
    [0, 9],
    [1, 1],
    [10, 99],
    [37, 4213],
    [0, 596],
    [1, 1024],
    [64, 20_000],
  ])('matches exactly the numerals from %i to %i, without leading zeros', (min, max) => {
    const pattern = new RegExp(`^(?:${wholeNumberPattern(min, max)})$`, 'u');
    const wrong = [];
    for (let n = 0; n <= max * 2 + 10; n++) if (pattern.test(String(n)) !== (n >= min && n <= max)) wrong.push(n);
    expect(wrong).toEqual([]);
    expect(['', '00', `0${max}`, '-1', 'x'].filter((text) => pattern.test(text))).toEqual([]);
  });

  it('bounds a port', () => {
    const port = new RegExp(`^(?:${wholeNumberPattern(1, 65535)})$`, 'u');
    expect(['1', '80', '8080', '65535'].every((text) => port.test(text))).toBe(true);
    expect(['0', '65536', '70000', '100000'].some((text) => port.test(text))).toBe(false);
  });
});
