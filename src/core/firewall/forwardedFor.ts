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
  let node = '';
  let i = 0;
  while (i <= value.length) {
    // One forwarded-pair: token "=" ( token / quoted-string ), pairs split by ";" and elements by ",".
    const end = findDelimiter(value, i);
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
 * The next `;` or `,` outside a quoted string. A quote that is never closed must not swallow what
 * follows it: a client could open one so that the element a trusted proxy appends is read as part
 * of the client's forged value. Then the first delimiter inside the broken quote counts instead.
 */
function findDelimiter(value: string, from: number): number {
  let quoted = false;
  let firstInsideQuote = -1;
  for (let i = from; i < value.length; i++) {
    const char = value[i];
    if (quoted && char === '\\') i++;
    else if (char === '"') quoted = !quoted;
    else if (char === ';' || char === ',') {
      if (!quoted) return i;
      if (firstInsideQuote === -1) firstInsideQuote = i;
    }
  }
  return quoted && firstInsideQuote !== -1 ? firstInsideQuote : value.length;
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
