import type { HeaderFields } from '../http/HeaderFields.ts';
import { eachCookie } from '../balancing/readCookie.ts';

/** What a route's `match` conditions may read of a request. */
export interface RequestFacts {
  readonly method: string;
  /** The client's header fields, as it sent them. */
  readonly headers: HeaderFields;
  /** The raw query string including `?`, or `''`. */
  readonly query: string;
}

/** The query parameter and cookie names some route's conditions read; undefined reads them all. */
export interface WantedNames {
  readonly query?: ReadonlySet<string>;
  readonly cookies?: ReadonlySet<string>;
}

/**
 * A request as the `match` conditions see it. The query and the `Cookie` header are parsed at
 * most once per request, on the first condition that reads them, in one pass each; only the
 * names some route asks for are kept, so thousands of parameters or cookies cost their length
 * to scan (which the head limits bound) and nothing more, however many routes read them.
 */
export class MatchRequest {
  readonly method: string;
  /** For a CORS preflight, the method it asks about; undefined for any other request. */
  readonly preflightFor: string | undefined;
  readonly headers: HeaderFields;
  readonly #rawQuery: string;
  readonly #wanted: WantedNames;
  #query?: Map<string, string>;
  #cookies?: Map<string, string>;

  constructor(facts: RequestFacts, wanted: WantedNames = {}) {
    this.method = facts.method;
    this.preflightFor = preflightMethod(facts);
    this.headers = facts.headers;
    this.#rawQuery = facts.query;
    this.#wanted = wanted;
  }

  /** A header's value, repeated fields joined with `, ` (as `Headers#get`); null when absent. */
  header(name: string): string | null {
    return this.headers.get(name);
  }

  /**
   * The first value of the query parameter `name`, percent-decoded (`+` is a space), as
   * application/x-www-form-urlencoded and `URLSearchParams` read it: what the client means.
   */
  queryParam(name: string): string | undefined {
    if (!this.#query) {
      this.#query = new Map();
      const wanted = this.#wanted.query;
      if (this.#rawQuery.length > 1) {
        for (const [key, value] of new URLSearchParams(this.#rawQuery.slice(1))) {
          if ((!wanted || wanted.has(key)) && !this.#query.has(key)) this.#query.set(key, value);
        }
      }
    }
    return this.#query.get(name);
  }

  /** The value of the first cookie called `name` (RFC 6265 section 5.4), as sent: cookies have no escaping of their own. */
  cookie(name: string): string | undefined {
    if (!this.#cookies) {
      const cookies = (this.#cookies = new Map());
      const wanted = this.#wanted.cookies;
      const header = this.headers.get('cookie');
      if (header) {
        eachCookie(header, (key, value) => {
          if ((!wanted || wanted.has(key)) && !cookies.has(key)) cookies.set(key, value);
        });
      }
    }
    return this.#cookies.get(name);
  }
}

/**
 * The method a CORS preflight asks about (an OPTIONS with Origin and
 * Access-Control-Request-Method; Fetch standard, section 3.2.2). Undefined for any other request.
 */
function preflightMethod(facts: RequestFacts): string | undefined {
  if (facts.method !== 'OPTIONS' || !facts.headers.has('origin')) return undefined;
  return facts.headers.get('access-control-request-method')?.trim() || undefined;
}
