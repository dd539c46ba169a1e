import { auth } from 'hono/utils/basic-auth';
import * as answers from '../answers.ts';
import type { HeaderFields } from '../http/HeaderFields.ts';
import type { Gate, GateAnswer } from '../Route.ts';
import type { PasswordChecks } from './PasswordChecks.ts';
import { checkCost, type PasswordHash } from './passwordHash.ts';
import { VerdictCache } from './VerdictCache.ts';

/** A route's `basic_auth`, compiled. */
export interface BasicAuthSettings {
  readonly realm: string;
  readonly users: ReadonlyMap<string, PasswordHash>;
  /** Whether the client's `Authorization` goes on to the backend. */
  readonly forwardAuthorization: boolean;
  /** The request header that names the user to the backend, if any. */
  readonly userHeader?: string;
}

/**
 * Longer credentials are refused unchecked: bcrypt reads 72 bytes of a password, and no user name
 * or password a person types comes near this.
 */
const MAX_CREDENTIALS = 1024;

/**
 * `basic_auth` (RFC 7617): 401 with `WWW-Authenticate` unless the request's credentials name a
 * user whose password hash they match. Checks run where the runtime's `checks` run them (worker
 * threads on Node and Deno), bounded (503 with `Retry-After` past it), remembered
 * (`VerdictCache`), and shared by concurrent requests with the same credentials. A user the
 * config does not name costs a check against the costliest hash of the users', so it is never
 * the quicker answer: where every hash has the same kind and cost, the time taken does not tell
 * which names exist.
 */
export function basicAuthGate(settings: BasicAuthSettings, checks: PasswordChecks): Gate {
  const verdicts = new VerdictCache();
  const pending = new Map<string, Promise<boolean>>();
  const decoy = [...settings.users.values()].reduce((costliest, hash) => (checkCost(hash) > checkCost(costliest) ? hash : costliest));
  const refuse = (why: string) => answers.unauthorized(settings.realm, `basic_auth: ${why}`);

  const check = (username: string, password: string): Promise<boolean> | undefined => {
    const hash = settings.users.get(username);
    return checks.tryCheck(password, hash ?? decoy)?.then((matches) => matches && hash !== undefined);
  };

  return {
    name: 'basic_auth',
    identityHeaders: settings.userHeader ? [settings.userHeader] : [],
    forwardsAuthorization: settings.forwardAuthorization,
    async pass(exchange, outgoing, context): Promise<GateAnswer | undefined> {
      const credentials = readCredentials(exchange.headers);
      if (typeof credentials === 'string') return refuse(credentials);
      const header = exchange.headers.get('authorization')!;
      const key = VerdictCache.keyOf(header);
      let granted = verdicts.get(key);
      if (granted === undefined) {
        let checking = pending.get(key);
        if (!checking) {
          checking = check(credentials.username, credentials.password);
          if (!checking) {
            const cause = `basic_auth: ${checks.max} password checks in progress already`;
            context.errorLog.failed(503, exchange, cause);
            return answers.gateUnavailable('too many password checks at once; try again', cause, 1);
          }
          pending.set(key, checking);
          checking.then(
            (verdict) => verdicts.set(key, verdict),
            () => {},
          ).finally(() => pending.delete(key));
        }
        try {
          granted = await checking;
        } catch (error) {
          const cause = `basic_auth: the password check failed: ${error instanceof Error ? error.message : String(error)}`;
          context.errorLog.failed(503, exchange, cause);
          return answers.gateUnavailable('the password check failed; try again', cause, 1);
        }
      }
      if (!granted) return refuse(`wrong user name or password for ${JSON.stringify(credentials.username.slice(0, 100))}`);
      nameTheUser(outgoing.headers, settings, credentials.username);
      return undefined;
    },
    foresee(exchange) {
      const credentials = readCredentials(exchange.headers);
      if (typeof credentials === 'string') return { verdict: 'answers', status: 401, why: `basic_auth: ${credentials}` };
      const user = JSON.stringify(credentials.username.slice(0, 100));
      if (!settings.users.has(credentials.username)) return { verdict: 'answers', status: 401, why: `basic_auth: ${user} is not a user of realm ${JSON.stringify(settings.realm)}` };
      return { verdict: 'asks', why: `credentials for ${user}: the password check decides (401 when wrong); explain checks no password` };
    },
  };
}

/** The user name and password of a request's `Authorization`, or why there are none to check. */
function readCredentials(headers: HeaderFields): { username: string; password: string } | string {
  const header = headers.get('authorization');
  if (header === null) return 'no credentials';
  if (header.length > MAX_CREDENTIALS) return 'credentials too long';
  // Hono's own parser of the header (hono/utils/basic-auth), which reads only `headers.get`.
  return auth({ headers } as unknown as Request) ?? 'credentials that are not Basic user:password';
}

function nameTheUser(headers: HeaderFields, settings: BasicAuthSettings, username: string): void {
  if (!settings.forwardAuthorization) headers.delete('authorization');
  // Set, not appended: the client's own value of the header would be taken for the balancer's word.
  if (settings.userHeader) headers.set(settings.userHeader, username);
}
