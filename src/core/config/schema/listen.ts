import * as v from 'valibot';
import { jsonSchemaRule } from './common.ts';

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

/** Let's Encrypt's production directory: the default of `tls.acme.directory`, as Caddy and certbot default to it. */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

/** Automatic HTTPS: certificates for the routes' host names from an ACME CA (RFC 8555), obtained and renewed by the balancer. */
const acme = v.strictObject({
  email: v.pipe(
    v.string(),
    v.regex(/^[^\s@]+@[^\s@]+$/, (issue) => `${JSON.stringify(issue.input)} is not an email address`),
    v.description("The ACME account's contact address: the CA writes there about expiring certificates and changes to its terms."),
  ),
  directory: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^https?:\/\/\S+$/, (issue) => `${JSON.stringify(issue.input)} is not an http(s) URL`),
      v.description(`The ACME directory URL of the CA (default Let's Encrypt production, \`${LETS_ENCRYPT_DIRECTORY}\`; for trials its staging directory, \`https://acme-staging-v02.api.letsencrypt.org/directory\`).`),
    ),
  ),
  directory_ca: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1, 'directory_ca names a file; it is empty'),
      v.description("A PEM file of the CA certificates that sign the ACME directory's own HTTPS certificate, trusted instead of the runtime's (a private CA such as pebble or step-ca); relative to the config file."),
    ),
  ),
  storage: v.pipe(
    v.string(),
    v.minLength(1, 'storage names a directory; it is empty'),
    v.description('The directory of the account key, the certificates and their keys (created with mode 0700, files 0600), kept across restarts and shared by every process given the same one; relative to the config file.'),
  ),
  challenge: v.optional(
    v.pipe(
      v.picklist(['http-01', 'tls-alpn-01'], (issue) => `${JSON.stringify(issue.input)} is not a challenge this balancer answers; expected http-01 or tls-alpn-01`),
      v.description('The challenge that proves each name: `http-01` (the default) on a plain listener, which must be reachable on port 80, or `tls-alpn-01` on this TLS listener, which must be reachable on port 443.'),
    ),
  ),
});

/** TLS on a listener: which certificates, and the oldest protocol version spoken. */
export const listenerTls = v.pipe(
  v.strictObject({
    certificates: v.optional(
      v.pipe(
        v.array(certificate),
        v.minLength(1, 'certificates lists at least one certificate; leave it out when acme obtains them'),
        v.description('The certificates, chosen by the name the client asks for (SNI) among the names each holds, exact or wildcard; the first when it asks for none. Names they hold are not ordered by `acme`.'),
      ),
    ),
    acme: v.optional(v.pipe(acme, v.description('Obtains and renews a certificate for every exact host name of the routes from an ACME CA (docs/automatic-https.md). Node and Deno only: on Workers Cloudflare manages certificates.'))),
    min_version: v.optional(
      v.pipe(
        v.picklist(['TLSv1.2', 'TLSv1.3'], (issue) => `${JSON.stringify(issue.input)} is not a TLS version this balancer speaks; expected TLSv1.2 or TLSv1.3`),
        v.description('The oldest TLS version accepted: `TLSv1.2` (the default) or `TLSv1.3`. TLS 1.0 and 1.1 are never spoken.'),
      ),
    ),
  }),
  v.check((tls) => tls.certificates !== undefined || tls.acme !== undefined, 'a TLS listener needs certificates, or acme to obtain them'),
  jsonSchemaRule({ anyOf: [{ properties: { certificates: true }, required: ['certificates'] }, { properties: { acme: true }, required: ['acme'] }] }),
);

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
