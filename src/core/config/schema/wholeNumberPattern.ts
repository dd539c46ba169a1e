/**
 * A regular expression source (unanchored, no groups to capture) that matches the decimal
 * numerals of the whole numbers from `min` to `max`, without leading zeros: how the JSON Schema
 * bounds a number written inside text, such as the `8` of `8KiB` or the port of `host:port`.
 * @example wholeNumberPattern(1, 65535) // '[1-9]|[1-9]\\d|...|6553[0-5]'
 */
export function wholeNumberPattern(min: number, max: number): string {
  const alternatives: string[] = [];
  for (let digits = String(min).length; digits <= String(max).length; digits++) {
    const low = Math.max(min, digits === 1 ? 0 : 10 ** (digits - 1));
    const high = Math.min(max, 10 ** digits - 1);
    if (low <= high) alternatives.push(...sameLength(String(low), String(high)));
  }
  return alternatives.join('|');
}

/** Alternatives matching the numerals from `low` to `high`, two numerals of one length. */
function sameLength(low: string, high: string): string[] {
  if (low === high) return [low];
  const rest = low.length - 1;
  if (low[0] === high[0]) return sameLength(low.slice(1), high.slice(1)).map((tail) => low[0] + tail);
  const out: string[] = [];
  let first = Number(low[0]);
  let last = Number(high[0]);
  if (rest > 0 && !/^0*$/.test(low.slice(1))) {
    out.push(...sameLength(low.slice(1), '9'.repeat(rest)).map((tail) => low[0] + tail));
    first++;
  }
  const upper: string[] = [];
  if (rest > 0 && !/^9*$/.test(high.slice(1))) {
    upper.push(...sameLength('0'.repeat(rest), high.slice(1)).map((tail) => high[0] + tail));
    last--;
  }
  if (first <= last) out.push(digitClass(first, last) + anyDigits(rest));
  return [...out, ...upper];
}

function digitClass(first: number, last: number): string {
  return first === last ? String(first) : `[${first}-${last}]`;
}

function anyDigits(count: number): string {
  return count === 0 ? '' : count === 1 ? '\\d' : `\\d{${count}}`;
}
