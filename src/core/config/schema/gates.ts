import * as v from 'valibot';
import { describePasswordHashProblem } from '../../gates/passwordHash.ts';
import { duration, headerName } from './common.ts';
import { size } from './server.ts';

/** `false`, or an object of settings: a route's `false` turns the top level's off for that route. */
function offOr<const TEntries extends v.ObjectEntries>(object: v.StrictObjectSchema<TEntries, undefined>, message: string) {
  return v.union([v.literal(false), object], message);
}

const headerNames = v.array(headerName);

/** `"*"`, `https://app.example.com`, or `https://*.example.com` (any name under it). */
const ORIGIN = /^(\*|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/;

const origin = v.pipe(
  v.string(),
  v.regex(ORIGIN, (issue) => `${JSON.stringify(issue.input)} is not an origin; write it like "https://app.example.com" or "https://*.example.com" (no path, no trailing slash)`),
);

export const cors = offOr(
  v.strictObject({
    origins: v.pipe(
      v.union([v.literal('*'), v.pipe(v.array(origin), v.minLength(1, 'list at least one origin, or write "*"'))], 'expected "*" or a list of origins'),
      v.description('The origins allowed: `"*"` (any, without credentials), or a list such as `["https://app.example.com", "https://*.example.com"]`.'),
    ),
    methods: v.optional(
      v.pipe(v.array(headerName), v.description('The methods a preflight allows (default `GET, HEAD, POST, PUT, PATCH, DELETE`).')),
    ),
    headers: v.optional(
      v.pipe(headerNames, v.description('The request headers a preflight allows (default: the ones the preflight asks for, echoed).')),
    ),
    expose_headers: v.optional(v.pipe(headerNames, v.description("Response headers a page's script may read besides the safelisted ones (default none)."))),
    credentials: v.optional(
      v.pipe(v.boolean(), v.description('Whether cookies and `Authorization` may be sent along (`Access-Control-Allow-Credentials`; default false); not with `origins: "*"`.')),
    ),
    max_age: v.optional(v.pipe(duration, v.description('How long a browser may keep a preflight answer (`Access-Control-Max-Age`; default not sent, which browsers read as 5s).'))),
  }),
  'expected false or { origins, methods, headers, expose_headers, credentials, max_age }',
);

const passwordHash = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = describePasswordHashProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

/** The realm is sent in a quoted string (RFC 7617): no quote, backslash or control character. */
const realm = v.pipe(v.string(), v.regex(/^[^"\\\x00-\x1f\x7f]{1,100}$/, 'a realm is 1-100 characters without quotes, backslashes or control characters'));

export const basicAuth = offOr(
  v.strictObject({
    realm: v.optional(v.pipe(realm, v.description('The realm named in `WWW-Authenticate`, which browsers show in their prompt (default `Restricted`).'))),
    users: v.pipe(
      v.record(
        v.pipe(v.string(), v.regex(/^[^:\x00-\x1f\x7f]{1,100}$/, 'a user name is 1-100 characters without ":" or control characters')),
        passwordHash,
      ),
      v.check((users) => Object.keys(users).length > 0, 'list at least one user'),
      v.description('Each user name with its password hash: bcrypt (`$2y$...`, as `htpasswd -nbB` writes) or scrypt (`$scrypt$ln=..,r=..,p=..$salt$hash`, docs/edge-middleware.md shows how to make one); never a plain password.'),
    ),
    forward_authorization: v.optional(
      v.pipe(v.boolean(), v.description('Whether the client\'s `Authorization` header goes on to the backend (default false: removed once checked).')),
    ),
    user_header: v.optional(
      v.pipe(headerName, v.description("A request header the backend gets with the user's name (the client's own values of it are removed); default none.")),
    ),
  }),
  'expected false or { realm, users, forward_authorization, user_header }',
);

export const forwardAuth = offOr(
  v.strictObject({
    url: v.pipe(
      v.string(),
      v.regex(/^https?:\/\/[^\s/?#@]+(\/[^\s#]*)?$/i, (issue) => `${JSON.stringify(issue.input)} is not an http(s) URL such as "http://127.0.0.1:9000/verify"`),
      v.description('The auth service, asked with a GET for every request: `http(s)://host[:port][/path][?query]`.'),
    ),
    request_headers: v.optional(
      v.pipe(headerNames, v.description("The client's headers sent to the auth service (default all but the hop-by-hop ones); the `X-Forwarded-*` fields are always sent.")),
    ),
    response_headers: v.optional(
      v.pipe(headerNames, v.description("The auth service's headers copied onto the request to the backend on a 2xx, replacing the client's own values (default none)."))),
    timeout: v.optional(v.pipe(duration, v.description('Longest wait to connect to the auth service and for its answer: 504 past it (default 5s).'))),
  }),
  'expected false or { url, request_headers, response_headers, timeout }',
);

/** The edge middleware keys, on a route and at the top level (docs/edge-middleware.md). */
export const gateEntries = {
  cors: v.optional(
    v.pipe(cors, v.description("CORS: preflights answered at the edge and `Access-Control-Allow-*` on answers; `false` turns the top level's off; a route's replaces the top level's.")),
  ),
  basic_auth: v.optional(
    v.pipe(basicAuth, v.description("HTTP Basic authentication with hashed passwords (401 without them); `false` turns the top level's off; a route's replaces the top level's.")),
  ),
  forward_auth: v.optional(
    v.pipe(forwardAuth, v.description("Asks an auth service first: a 2xx lets the request through, anything else is the client's answer; `false` turns the top level's off; a route's replaces the top level's.")),
  ),
  max_request_body: v.optional(
    v.pipe(
      v.union([v.literal(false), v.pipe(size, v.check((bytes) => bytes >= 0, 'a size is not negative'))], 'expected false or a size such as 8192 or "10MiB"'),
      v.description("The largest request body, such as `10MiB`: 413 past it, on Content-Length at once, else while it streams; `false` turns the top level's off; a route's replaces the top level's."),
    ),
  ),
};
