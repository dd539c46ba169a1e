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

/** `uri-host [ ":" port ]` (RFC 9110 section 7.2, RFC 3986 section 3.2.2): a reg-name or an IP literal. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/** Whether a Host header's value is a host as HTTP spells it (empty included, which HTTP allows). */
export function isValidHost(host: string): boolean {
  return HOST.test(host);
}
