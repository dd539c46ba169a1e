/**
 * The addresses a `X-Forwarded-For` header lists, client first, each as written (port and
 * brackets included). Several header lines arrive joined with `, `, in order (RFC 9110 section 5.3).
 */
export function parseXForwardedFor(value: string): string[] {
  return value.split(',').map((entry) => entry.trim());
}

/**
 * The `for=` node of each element of a `Forwarded` header (RFC 7239 section 4), client first,
 * unquoted. An element without `for` yields `''`, which names no address.
 */
export function parseForwarded(value: string): string[] {
  const nodes: string[] = [];
  const delimiterAfter = delimiterFinder(value);
  let node = '';
  let i = 0;
  while (i <= value.length) {
    // One forwarded-pair: token "=" ( token / quoted-string ), pairs split by ";" and elements by ",".
    const end = delimiterAfter(i);
    const pair = value.slice(i, end).trim();
    const equals = pair.indexOf('=');
    if (equals !== -1 && pair.slice(0, equals).trim().toLowerCase() === 'for') node = unquote(pair.slice(equals + 1).trim());
    if (end >= value.length || value[end] === ',') {
      nodes.push(node);
      node = '';
    }
    i = end + 1;
  }
  return nodes;
}

/**
 * Finds the next `;` or `,` outside a quoted string, in time linear in the whole header over all
 * calls: where each quoted string closes, and where the next delimiter lies, are worked out once,
 * right to left. A quote that is never closed must not swallow what follows it: a client could
 * open one so that the element a trusted proxy appends is read as part of the client's forged
 * value. Then the first delimiter after the broken quote counts instead.
 */
function delimiterFinder(value: string): (from: number) => number {
  const n = value.length;
  // closing[i]: where a quoted string whose content starts at i ends (its closing quote), or n.
  const closing = new Int32Array(n + 2).fill(n);
  // delimiter[i]: the first ';' or ',' at or after i, quotes ignored, or n.
  const delimiter = new Int32Array(n + 1).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    const char = value.charCodeAt(i);
    closing[i] = char === 34 /* " */ ? i : char === 92 /* \ */ ? closing[i + 2] : closing[i + 1];
    delimiter[i] = char === 59 /* ; */ || char === 44 /* , */ ? i : delimiter[i + 1];
  }
  return (from) => {
    for (let i = from; i < n; ) {
      const char = value.charCodeAt(i);
      if (char === 59 || char === 44) return i;
      if (char !== 34) {
        i++;
        continue;
      }
      const close = closing[i + 1];
      if (close < n) i = close + 1;
      else return delimiter[i + 1];
    }
    return n;
  };
}

function unquote(text: string): string {
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return text;
  return text.slice(1, -1).replace(/\\(.)/g, '$1');
}

/**
 * The address part of a node as forwarding headers write it: `192.0.2.1`, `192.0.2.1:8080`,
 * `[2001:db8::1]:8080`, `2001:db8::1`. Names such as `unknown` or `_hidden` come back unchanged
 * and do not parse as addresses.
 */
export function nodeAddress(node: string): string {
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    return close === -1 ? node : node.slice(1, close);
  }
  const colon = node.indexOf(':');
  return colon !== -1 && colon === node.lastIndexOf(':') ? node.slice(0, colon) : node;
}
