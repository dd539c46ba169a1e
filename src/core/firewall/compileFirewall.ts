import { compileRegex } from '../compile/compileRegex.ts';
import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { ConfigProblems } from '../compile/ConfigProblems.ts';
import * as answers from '../answers.ts';
import type { Answer } from '../Answer.ts';
import type { Exchange } from '../Route.ts';
import { clientIpOf } from './clientIp.ts';
import { IpRanges } from './IpRanges.ts';
import { PathPrefixes } from './PathPrefixes.ts';
import { TOKEN } from '../httpToken.ts';

/** `firewall_rules`, as the config schema reads them (one level: the top level's or a route's). */
export interface FirewallRules {
  /** Addresses and CIDR ranges refused. */
  readonly ip_reject?: readonly string[];
  /** When present, only these addresses and ranges are let in. */
  readonly ip_allow?: readonly string[];
  /** Path prefixes refused, on segment boundaries. */
  readonly path_reject?: readonly string[];
  /** When present, only these methods are let in (GET allows HEAD). */
  readonly method_allow?: readonly string[];
  /** Header names to patterns that refuse a request whose value matches. */
  readonly header_reject?: Readonly<Record<string, readonly string[]>>;
  readonly user_agent_reject?: readonly string[];
}

/** A compiled `firewall_rules`: the checks it makes, by name, and the check itself (403, whose cause names the rule that refused). */
export interface Firewall {
  readonly checks: readonly string[];
  readonly check: (exchange: Exchange) => Answer | undefined;
}

/**
 * Compiles `firewall_rules` into a check that answers 403 Forbidden. Checks run cheapest first:
 * `ip_reject`, `ip_allow`, `method_allow`, `path_reject`, `header_reject`, `user_agent_reject`.
 * A request whose client address is unknown passes `ip_reject` and fails `ip_allow`.
 * Each bad address, range, path, method or pattern is recorded in `problems`, and the others
 * still compiled, so that every one is reported.
 * @returns undefined when the rules refuse nothing
 */
export function compileFirewall(rules: FirewallRules | undefined, at: readonly (string | number)[], problems: ConfigProblems): Firewall | undefined {
  if (!rules) return undefined;
  const checks: [rule: string, refuses: (exchange: Exchange, address: bigint | undefined) => boolean][] = [];

  if (rules.ip_reject?.length) {
    const reject = new IpRanges(rules.ip_reject, [...at, 'ip_reject'], problems);
    checks.push(['ip_reject', (_, address) => address !== undefined && reject.has(address)]);
  }
  if (rules.ip_allow) {
    const allow = new IpRanges(rules.ip_allow, [...at, 'ip_allow'], problems);
    checks.push(['ip_allow', (_, address) => address === undefined || !allow.has(address)]);
  }
  if (rules.method_allow) {
    const methods = new Set<string>();
    rules.method_allow.forEach((method, i) => {
      if (TOKEN.test(method)) methods.add(method.toUpperCase());
      else problems.add(new ConfigProblem([...at, 'method_allow', i], `${JSON.stringify(method)} is not an HTTP method`));
    });
    // As nginx's limit_except: allowing GET allows HEAD, which asks for the same without the body.
    if (methods.has('GET')) methods.add('HEAD');
    checks.push(['method_allow', (exchange) => !methods.has(exchange.method)]);
  }
  if (rules.path_reject?.length && eachPathCompiles(rules.path_reject, [...at, 'path_reject'], problems)) {
    const paths = new PathPrefixes(rules.path_reject, [...at, 'path_reject']);
    checks.push(['path_reject', (exchange) => paths.matches(exchange.path)]);
  }
  const headerPatterns: [string, RegExp[]][] = Object.entries(rules.header_reject ?? {}).map(([name, patterns]) => [
    headerName(name, [...at, 'header_reject', name], problems),
    compilePatterns(patterns, [...at, 'header_reject', name], problems),
  ]);
  if (headerPatterns.length > 0) checks.push(['header_reject', (exchange) => headerPatterns.some(([name, patterns]) => matchesAny(exchange, name, patterns))]);
  if (rules.user_agent_reject) {
    const patterns = compilePatterns(rules.user_agent_reject, [...at, 'user_agent_reject'], problems);
    checks.push(['user_agent_reject', (exchange) => matchesAny(exchange, 'user-agent', patterns)]);
  }

  if (checks.length === 0) return undefined;
  return {
    checks: checks.map(([rule]) => rule),
    check(exchange) {
      const address = clientIpOf(exchange);
      for (const [rule, refuses] of checks) if (refuses(exchange, address)) return answers.forbidden(rule);
      return undefined;
    },
  };
}

function headerName(name: string, at: readonly (string | number)[], problems: ConfigProblems): string {
  if (!TOKEN.test(name)) problems.add(new ConfigProblem(at, `${JSON.stringify(name)} is not a header name`));
  return name.toLowerCase();
}

/** Deny patterns are JavaScript regular expressions, unanchored and case-insensitive. */
function compilePatterns(patterns: readonly string[], at: readonly (string | number)[], problems: ConfigProblems): RegExp[] {
  return patterns.flatMap((pattern, i) => problems.attempt(() => compileRegex(pattern, 'i', [...at, i])) ?? []);
}

/** `PathPrefixes` stops at its first bad entry: each entry alone, so that every bad one is reported. */
function eachPathCompiles(entries: readonly string[], at: readonly (string | number)[], problems: ConfigProblems): boolean {
  let compiles = true;
  entries.forEach((entry, i) => {
    try {
      new PathPrefixes([entry], []);
    } catch (error) {
      if (!(error instanceof ConfigProblem)) throw error;
      problems.add(new ConfigProblem([...at, i], error.message));
      compiles = false;
    }
  });
  return compiles;
}

function matchesAny(exchange: Exchange, header: string, patterns: readonly RegExp[]): boolean {
  const value = exchange.headers.get(header);
  return value !== null && patterns.some((pattern) => pattern.test(value));
}
