import * as v from 'valibot';
import { jsonSchemaRule } from './common.ts';

const fileName = v.pipe(v.string(), v.minLength(1, 'a file name cannot be empty'));

/** What TLS may carry as a server name: a DNS name, or an IP address (then checked, not sent). */
const serverName = v.pipe(
  v.string(),
  v.regex(
    /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/,
    (issue) => `${JSON.stringify(issue.input)} is not a host name`,
  ),
);

/** TLS toward a route's `https://` servers: the CA trusted, the name checked, a client certificate. */
export const backendTls = v.pipe(
  v.strictObject({
    ca: v.optional(
      v.pipe(
        fileName,
        v.description("A PEM file of the CA certificates that sign the backends' certificates, trusted instead of the runtime's own; relative to the config file's directory."),
      ),
    ),
    servername: v.optional(
      v.pipe(serverName, v.description("The name sent as SNI and checked in the backend's certificate (default: the host in the server's URL).")),
    ),
    verify: v.optional(v.pipe(v.boolean(), v.description('`false` accepts any certificate, unchecked, and says so in a warning at start-up (default `true`).'))),
    cert: v.optional(
      v.pipe(fileName, v.description('A PEM client certificate (or chain) for backends that ask for one (mTLS), given with `key`; relative to the config file\'s directory.')),
    ),
    key: v.optional(v.pipe(fileName, v.description("The unencrypted PEM private key of `cert`; relative to the config file's directory."))),
  }),
  // A certificate without its key (or the reverse) cannot be presented; one `tls` gives both, so a
  // route's pair replaces the top level's whole.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const { cert, key } = dataset.value;
    if (cert !== undefined && key === undefined) addIssue({ message: 'cert needs key, its private key, in the same tls' });
    if (key !== undefined && cert === undefined) addIssue({ message: 'key needs cert, the certificate it belongs to, in the same tls' });
  }),
  jsonSchemaRule({ dependencies: { cert: ['key'], key: ['cert'] } }),
);
