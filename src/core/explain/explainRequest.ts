import type { Answer } from '../Answer.ts';
import type { CompressSettings } from '../compress/CompressSettings.ts';
import { FieldList } from '../http/FieldList.ts';
import { RequestRecord } from '../observe/RequestRecord.ts';
import type { Pool } from '../pool/Pool.ts';
import { admit, isAdmitted, type AdmitConfig, type AdmitTrace } from '../proxy/admit.ts';
import { splitTarget } from '../proxy/splitTarget.ts';
import type { Exchange, OutgoingRequest, Route } from '../Route.ts';
import type { RouteTable } from '../routing/RouteTable.ts';
import { PathRewriteError } from '../rules/compilePathRewrite.ts';
import type { Wire } from '../Upstream.ts';
import { TOKEN } from '../httpToken.ts';
import { parseIpAddress } from '../firewall/ipAddress.ts';
import type { BackendExplained, Explanation, GateVerdict, GuardVerdict, PoolExplained, RouteConsidered, RuleApplied, TargetExplained, Verdict } from './Explanation.ts';
import { normalizeConfigPath } from '../path/normalizeConfigPath.ts';

/** The request to explain, as the command line or the admin query gives it. */
export interface RequestToExplain {
  readonly method: string;
  /** `http://HOST/PATH?QUERY`, `https://...`, or `/PATH?QUERY` (then Host comes from `headers`, if at all). */
  readonly url: string;
  /** In order; a `Host` here wins over the URL's. */
  readonly headers: readonly (readonly [string, string])[];
  /** The connection's peer address. */
  readonly from?: string;
}

/** A request that cannot be explained as given (a URL that is not one): its message is for the user. */
export class ExplainInputError extends Error {
  override name = 'ExplainInputError';
}

/** What explaining needs of a compiled config: what `admit` needs, and its route table's candidates. */
export interface ExplainConfig extends AdmitConfig {
  readonly routes: RouteTable<Route>;
  readonly routesInOrder: readonly Route[];
}

/**
 * A header field written as curl's -H takes it, `Name: value`.
 * @throws ExplainInputError when it is not one
 */
export function parseHeaderField(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = text.slice(0, Math.max(colon, 0)).trim();
  if (colon <= 0 || !TOKEN.test(name)) throw new ExplainInputError(`${JSON.stringify(text.slice(0, 100))} is not a header field: write it as 'Name: value'`);
  const value = text.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) throw new ExplainInputError(`the value of header ${name} holds a line break or NUL`);
  return [name.toLowerCase(), value];
}

/** A body stands for itself only: explain never reads it. */
const UNREAD_BODY = Symbol('unread body');

/**
 * Explains what the balancer would do with a request, without sending anything, by running the
 * request path itself with a trace (`admit`, the route table, the guards dry, the request rules,
 * each gate's `foresee`, the target): nothing is spent or moved on the config (no rate-limit
 * token, no round-robin position, no split draw, no auth service asked, no password checked).
 * Backends' health is the config's as it stands: live on a running balancer.
 * @throws ExplainInputError for a URL that is not `http(s)://HOST/...` or `/...`
 */
export function explainRequest(config: ExplainConfig, request: RequestToExplain): Explanation {
  const method = request.method.toUpperCase();
  if (!TOKEN.test(method)) throw new ExplainInputError(`${JSON.stringify(request.method.slice(0, 100))} is not an HTTP method`);
  if (request.from !== undefined && parseIpAddress(request.from) === undefined) throw new ExplainInputError(`${JSON.stringify(request.from.slice(0, 100))} is not an IP address (from)`);
  const { scheme, headers } = clientHead(request);
  const body = headers.has('content-length') || headers.has('transfer-encoding') ? UNREAD_BODY : null;
  const record = new RequestRecord();
  const steps = new Trace(config);
  let admitted: ReturnType<typeof admit<Wire>>;
  try {
    admitted = admit(config, { method, target: request.url, headers, scheme, peer: request.from, body }, record, steps);
  } catch (error) {
    if (!(error instanceof PathRewriteError)) throw error;
    return steps.explanation(request, headers, record, { forwarded: false, status: 500, why: `rewrite_rules: ${error.message}`, provided: [] });
  }
  if (!isAdmitted(admitted)) {
    const unrouted = steps.path !== null && !steps.route ? `no route serves host ${headers.get('host') ?? '(none)'} and path ${steps.path}` : undefined;
    return steps.explanation(request, headers, record, refusal(admitted, unrouted ?? record.error));
  }

  const { exchange, outgoing } = admitted;
  const provided: string[] = [];
  for (const gate of exchange.route.gates) {
    const forecast = gate.foresee(exchange, outgoing);
    steps.gates.push({ gate: gate.name, verdict: forecast.verdict, status: forecast.verdict === 'answers' ? forecast.status : null, why: forecast.why });
    if (forecast.verdict === 'answers') return steps.explanation(request, headers, record, { forwarded: false, status: forecast.status, why: forecast.why, provided });
    if (forecast.verdict === 'asks') provided.push(`${gate.name} lets it through`);
  }
  const { target, verdict } = explainTarget(exchange, outgoing);
  steps.target = target;
  return steps.explanation(request, headers, record, { ...verdict, provided });
}

/** The client's scheme and header fields: those given, with the URL's host as Host unless one is given. */
function clientHead(request: RequestToExplain): { scheme: 'http' | 'https'; headers: FieldList } {
  const { url } = request;
  const absolute = /^(https?):\/\//i.exec(url);
  if (!absolute && !url.startsWith('/')) throw new ExplainInputError(`${JSON.stringify(url.slice(0, 200))} is not a URL: give http://HOST/PATH, https://HOST/PATH, or /PATH with -H 'Host: HOST'`);
  const authority = absolute ? splitTarget(url).authority : undefined;
  if (absolute && !authority) throw new ExplainInputError(`${JSON.stringify(url.slice(0, 200))} has no host: give http://HOST/PATH`);
  const headers = new FieldList();
  const givesHost = request.headers.some(([name]) => name.toLowerCase() === 'host');
  if (authority && !givesHost) headers.append('host', authority);
  for (const [name, value] of request.headers) headers.append(name, value);
  return { scheme: absolute?.[1].toLowerCase() === 'https' ? 'https' : 'http', headers };
}

function refusal(answer: Answer, cause: string | undefined): Omit<Verdict, 'provided'> & { provided: string[] } {
  return { forwarded: false, status: answer.status, why: cause ?? String(answer.status), provided: [] };
}

/** How many of the routes that do not serve a 404's request `explain` lists, with what they serve instead. */
const OTHER_ROUTES = 20;

/** What admit's trace learns, step by step. */
class Trace implements AdmitTrace {
  path: string | null = null;
  routes: RouteConsidered[] = [];
  otherRoutes: RouteConsidered[] = [];
  route: Route | undefined;
  readonly guards: GuardVerdict[] = [];
  readonly rules: RuleApplied[] = [];
  readonly gates: GateVerdict[] = [];
  target: TargetExplained | null = null;
  #before: Snapshot | undefined;
  readonly #config: ExplainConfig;

  constructor(config: ExplainConfig) {
    this.#config = config;
  }

  routed(lookup: Parameters<AdmitTrace['routed']>[0], route: Route | undefined): void {
    this.path = lookup.path;
    this.route = route;
    const table = this.#config.routes;
    const facts = table.matchRequest(lookup.request);
    for (const candidate of table.candidates(lookup.host, lookup.path)) {
      const failure = candidate.match?.failure(facts);
      const { value } = candidate;
      const why = failure
        ? `match: ${failure.condition.description}, but ${failure.actual === undefined ? 'the request has none' : `it is ${JSON.stringify(failure.actual.slice(0, 200))}`}`
        : candidate.match
          ? `match: ${candidate.match.conditions.map((condition) => condition.description).join(', ')}`
          : 'host and path';
      this.routes.push({ route: value.name, at: value.at, matched: failure === undefined, why });
      if (value === route) break;
    }
    if (route === undefined) this.otherRoutes = this.#elsewhere(lookup.host, lookup.path);
  }

  /**
   * For a request no route serves, what each route of the config serves instead (its host, its
   * path), up to OTHER_ROUTES of them. Asked of the route table itself, with the route's own host
   * or path put in the request's place, so no second copy of the matching rules says it.
   */
  #elsewhere(host: string | undefined, path: string): RouteConsidered[] {
    const table = this.#config.routes;
    const tried = new Set(this.routes.map((considered) => considered.at));
    const servedBy = (other: Route, asHost: string | undefined, asPath: string) => table.candidates(asHost, asPath).some((candidate) => candidate.value === other);
    return this.#config.routesInOrder
      .filter((other) => !tried.has(other.at))
      .slice(0, OTHER_ROUTES)
      .map((other) => {
        const reasons = [];
        if (other.host !== undefined && !servedBy(other, host, normalizeConfigPath(other.path) ?? other.path)) reasons.push(`serves host ${other.host}, not ${host ?? 'a request without Host'}`);
        if (!servedBy(other, other.host ?? host, path)) reasons.push(`serves path ${other.path}, which ${path} is not under`);
        return { route: other.name, at: other.at, matched: false, why: reasons.join('; ') };
      });
  }

  guarded(guard: Parameters<AdmitTrace['guarded']>[0], refused: Answer | undefined): void {
    const why = !refused
      ? `passes (${guard.summary}${guard.rule === 'rate_limit' ? '; a token is left, and explain takes none' : ''})`
      : refused.status === 429
        ? `no token left in this client's bucket: retry after ${refused.headers.get('retry-after')} s (${guard.summary})`
        : ((refused as { cause?: string }).cause ?? String(refused.status));
    this.guards.push({ rule: guard.rule, level: guard.level, passed: !refused, status: refused?.status ?? null, why });
  }

  rewriting(_: unknown, outgoing: OutgoingRequest<Wire>): void {
    this.#before = snapshot(outgoing);
  }

  rewritten(step: Parameters<AdmitTrace['rewritten']>[0], outgoing: OutgoingRequest<Wire>): void {
    this.rules.push({ rule: step.rule, level: step.level, changes: changes(this.#before!, snapshot(outgoing)) });
  }

  explanation(request: RequestToExplain, headers: FieldList, record: RequestRecord, verdict: Verdict): Explanation {
    const route = this.route;
    const mirror = route?.mirror;
    return {
      request: { method: request.method.toUpperCase(), url: request.url, from: request.from ?? null, client: record.client ?? null, headers: headers.pairs() },
      path: this.path,
      routes: this.routes,
      other_routes: this.otherRoutes,
      route: route?.name ?? null,
      guards: this.guards,
      rules: this.rules,
      gates: this.gates,
      target: this.target,
      mirror: mirror ? { pool: mirror.pool.name ?? '', percent: mirror.percent } : null,
      compress: route?.compress ? describeCompress(route.compress) : null,
      verdict,
    };
  }
}

interface Snapshot {
  readonly path: string;
  readonly query: string;
  readonly headers: Map<string, string>;
}

function snapshot(outgoing: OutgoingRequest<Wire>): Snapshot {
  const headers = new Map<string, string>();
  outgoing.headers.forEach((value, name) => headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value));
  return { path: outgoing.path, query: outgoing.query, headers };
}

function changes(before: Snapshot, after: Snapshot): RuleApplied['changes'] {
  const found: { field: string; before: string | null; after: string | null }[] = [];
  for (const name of new Set([...before.headers.keys(), ...after.headers.keys()])) {
    const was = before.headers.get(name) ?? null;
    const is = after.headers.get(name) ?? null;
    if (was !== is) found.push({ field: `header ${name}`, before: was, after: is });
  }
  if (before.query !== after.query) found.push({ field: 'query', before: before.query, after: after.query });
  if (before.path !== after.path) found.push({ field: 'path', before: before.path, after: after.path });
  return found;
}

/** The route's target: its own answer (made, as a request would get it), or the pools and backends it could go to, none picked. */
function explainTarget(exchange: Exchange, outgoing: OutgoingRequest<Wire>): { target: TargetExplained; verdict: Omit<Verdict, 'provided'> } {
  const { target } = exchange.route;
  if (target.kind === 'answer') {
    const answer = target.answer(exchange);
    if (target.key === 'redirect') {
      const location = answer.headers.get('location') ?? '';
      return { target: { kind: 'redirect', status: answer.status, location }, verdict: { forwarded: false, status: answer.status, why: `redirect to ${location}` } };
    }
    return { target: { kind: 'respond', status: answer.status }, verdict: { forwarded: false, status: answer.status, why: `respond ${answer.status}` } };
  }
  const to = ` (${outgoing.method} ${outgoing.path}${outgoing.query})`;
  if (target.kind === 'pool') {
    const pool = explainPool(target.pool);
    const name = pool.pool === null ? 'the route\'s own pool' : `pool ${pool.pool}`;
    const verdict = pool.backends.some((backend) => backend.pickable)
      ? { forwarded: true, status: null, why: `forwarded to ${name}${to}` }
      : { forwarded: false, status: 503, why: `no backend of ${name} can be picked` };
    return { target: { kind: 'pool', ...pool }, verdict };
  }
  const { split } = target;
  const sides = split.sides.map((side) => ({ ...explainPool(side.pool), weight: side.weight }));
  const live = sides.filter((side) => side.weight > 0 && side.backends.some((backend) => backend.pickable));
  const total = sides.reduce((sum, side) => sum + side.weight, 0);
  const shares = sides.filter((side) => side.weight > 0).map((side) => `${side.pool} ${Math.round((side.weight / total) * 1000) / 10}%`);
  const verdict =
    live.length === 0
      ? { forwarded: false, status: 503, why: 'no side of the split has a backend that can be picked' }
      : { forwarded: true, status: null, why: `forwarded to one side of the split: ${shares.join(', ')}${to}${live.length < shares.length ? '; a request drawn to a side without a backend gets 503' : ''}` };
  return { target: { kind: 'split', sticky_cookie: split.sticky?.cookie ?? null, sides }, verdict };
}

function explainPool(pool: Pool): PoolExplained {
  const pickable = new Set(pool.pickable().map((member) => member.backend));
  const now = Date.now();
  const backends = pool.members.map(({ backend, weight }): BackendExplained => {
    const health = backend.draining ? 'draining' : backend.health.state === 'down' ? 'down' : backend.health.isEjected(now) ? 'ejected' : backend.health.state;
    return { backend: backend.name, weight, health, pickable: pickable.has(backend) };
  });
  return { pool: pool.name ?? null, algorithm: pool.algorithm, backends };
}

function describeCompress(settings: CompressSettings): string {
  return `responses the backend did not compress, of a compressible type and at least ${settings.minSize} bytes, with ${settings.codings.join(' or ')} as the client accepts`;
}
