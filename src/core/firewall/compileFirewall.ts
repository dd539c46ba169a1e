import { ConfigProblem } from '../config/ConfigProblem.ts';
import type { Config } from '../config/schema/index.ts';
import { plainAnswer } from '../responses.ts';
import type { Exchange, Guard } from '../Route.ts';
import { clientIpOf } from './clientIp.ts';
import { IpRanges } from './IpRanges.ts';
import { PathPrefixes } from './PathPrefixes.ts';
import { TOKEN } from '../httpToken.ts';

type FirewallRules = NonNullable<Config['firewall_rules']>;

/** The firewall's answer to a refused request (RFC 9110 section 15.5.4). */
export const forbidden = () => plainAnswer(403, 'Forbidden');

/**
 * Compiles `firewall_rules` into a guard that answers 403 Forbidden. Checks run cheapest first:
 * `ip_reject`, `ip_allow`, `method_allow`, `path_reject`, `header_reject`, `user_agent_reject`.
 * A request whose client address is unknown passes `ip_reject` and fails `ip_allow`.
 * @returns undefined when the rules refuse nothing
 * @throws ConfigProblem for a bad address, range, path, method or pattern
 */
export function compileFirewall(rules: FirewallRules | undefined, at: readonly (string | number)[]): Guard | undefined {
  if (!rules) return undefined;
  const checks: ((exchange: Exchange, address: bigint | undefined) => boolean)[] = [];

  if (rules.ip_reject?.length) {
    const reject = new IpRanges(rules.ip_reject, [...at, 'ip_reject']);
    checks.push((_, address) => address !== undefined && reject.has(address));
  }
  if (rules.ip_allow) {
    const allow = new IpRanges(rules.ip_allow, [...at, 'ip_allow']);
    checks.push((_, address) => address === undefined || !allow.has(address));
  }
  if (rules.method_allow) {
    const methods = new Set<string>();
    rules.method_allow.forEach((method, i) => {
      if (!TOKEN.test(method)) throw new ConfigProblem([...at, 'method_allow', i], `${JSON.stringify(method)} is not an HTTP method`);
      methods.add(method.toUpperCase());
    });
    // As nginx's limit_except: allowing GET allows HEAD, which asks for the same without the body.
    if (methods.has('GET')) methods.add('HEAD');
    checks.push((exchange) => !methods.has(exchange.method));
  }
  if (rules.path_reject?.length) {
    const paths = new PathPrefixes(rules.path_reject, [...at, 'path_reject']);
    checks.push((exchange) => paths.matches(exchange.path));
  }
  const headerPatterns: [string, RegExp[]][] = Object.entries(rules.header_reject ?? {}).map(([name, patterns]) => [
    headerName(name, [...at, 'header_reject', name]),
    patterns.map((pattern, i) => compilePattern(pattern, [...at, 'header_reject', name, i])),
  ]);
  if (rules.user_agent_reject) {
    headerPatterns.push(['user-agent', rules.user_agent_reject.map((pattern, i) => compilePattern(pattern, [...at, 'user_agent_reject', i]))]);
  }
  if (headerPatterns.length > 0) {
    checks.push((exchange) =>
      headerPatterns.some(([name, patterns]) => {
        const value = exchange.headers.get(name);
        return value !== null && patterns.some((pattern) => pattern.test(value));
      }),
    );
  }

  if (checks.length === 0) return undefined;
  return (exchange) => {
    const address = clientIpOf(exchange);
    for (const refuses of checks) if (refuses(exchange, address)) return forbidden();
    return undefined;
  };
}

function headerName(name: string, at: readonly (string | number)[]): string {
  if (!TOKEN.test(name)) throw new ConfigProblem(at, `${JSON.stringify(name)} is not a header name`);
  return name.toLowerCase();
}

/** Deny patterns are JavaScript regular expressions, unanchored and case-insensitive. */
function compilePattern(pattern: string, at: readonly (string | number)[]): RegExp {
  try {
    return new RegExp(pattern, 'i');
  } catch (error) {
    throw new ConfigProblem(at, `${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`);
  }
}
