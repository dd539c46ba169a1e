import * as v from 'valibot';

/**
 * The admin listener (docs/operations.md): off unless `address` is set here or `--admin` is given.
 * On any address but loopback a token is required, so metrics, the status page and the admin
 * API are never open to whoever can reach the port.
 */
export const admin = v.strictObject({
  address: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^(?::?\d{1,5}|(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/, (issue) => `${JSON.stringify(issue.input)} is not HOST:PORT (an IPv6 address in brackets), or a port`),
      v.description('`HOST:PORT` (IPv6 in brackets) or a port alone, which listens on 127.0.0.1. `--admin` on the command line wins.'),
    ),
  ),
  token: v.optional(
    v.pipe(
      v.string(),
      v.minLength(16, 'an admin token has at least 16 characters'),
      v.description('Required as `Authorization: Bearer TOKEN` (or as the password of HTTP basic auth, for a browser) on every admin request; required for an address other than loopback. On Workers with the `SWITCHYARD_STATE` Durable Object, a GET of `/metrics` or `/status` carrying it answers for the whole Worker. Write it as `${env:NAME}`.'),
    ),
  ),
});
