/**
 * The form in which hosts are compared: lower case, without port or trailing dot.
 * `WWW.Mango.com.:8080` becomes `www.mango.com`; `[::1]:80` becomes `[::1]`.
 */
export function normalizeHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    end = host.indexOf(']') + 1 || end;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  if (host.charCodeAt(end - 1) === 46 /* . */) end--;
  return host.slice(0, end).toLowerCase();
}
