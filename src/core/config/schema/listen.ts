import * as v from 'valibot';

/** `HOST:PORT`, an IPv6 address in brackets. */
export const listenAddress = v.pipe(
  v.string(),
  v.regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, (issue) => `${JSON.stringify(issue.input)} is not HOST:PORT (an IPv6 address in brackets, such as [::]:443)`),
  v.description('`HOST:PORT` to listen on, an IPv6 address in brackets (`0.0.0.0:443`, `[::]:443`).'),
);

const certificate = v.strictObject({
  cert: v.pipe(v.string(), v.minLength(1, 'cert names the certificate file; it is empty'), v.description('The certificate chain, PEM: the certificate first, then its intermediates. Relative to the config file.')),
  key: v.pipe(v.string(), v.minLength(1, 'key names the private key file; it is empty'), v.description("The certificate's private key, PEM. Relative to the config file.")),
});

/** TLS on a listener: which certificates, and the oldest protocol version spoken. */
export const listenerTls = v.strictObject({
  certificates: v.pipe(
    v.array(certificate),
    v.minLength(1, 'a TLS listener needs at least one certificate'),
    v.description('The certificates, chosen by the name the client asks for (SNI) among the names each holds, exact or wildcard; the first when it asks for none.'),
  ),
  min_version: v.optional(
    v.pipe(
      v.picklist(['TLSv1.2', 'TLSv1.3'], (issue) => `${JSON.stringify(issue.input)} is not a TLS version this balancer speaks; expected TLSv1.2 or TLSv1.3`),
      v.description('The oldest TLS version accepted: `TLSv1.2` (the default) or `TLSv1.3`. TLS 1.0 and 1.1 are never spoken.'),
    ),
  ),
});

export const listener = v.strictObject({
  address: listenAddress,
  tls: v.optional(v.pipe(listenerTls, v.description('Makes the listener HTTPS (docs/https.md).'))),
  redirect_https: v.optional(
    v.pipe(v.boolean(), v.description('Answers every request with 308 to the same host and path on HTTPS, on a plain listener.')),
  ),
  http2: v.optional(
    v.pipe(
      v.union([v.boolean(), v.literal('h2c')], 'expected true, false or h2c'),
      v.description('HTTP/2: on a TLS listener `true` (the default) offers `h2` beside `http/1.1` by ALPN, `false` speaks HTTP/1.1 only; on a plain listener `h2c` speaks cleartext HTTP/2 with prior knowledge, and only that.'),
    ),
  ),
});
