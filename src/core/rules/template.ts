import { ConfigProblem } from '../compile/ConfigProblem.ts';
import type { Exchange } from '../Route.ts';

/**
 * What `${name}` stands for in a rule's value. Each is read before any rule changes the request.
 * An unknown fact (no client address, no Host header) is the empty text.
 */
export const TEMPLATE_VARIABLES: Record<string, (exchange: Exchange) => string> = {
  /** The client's address: the connection's peer, or what trusted proxies say. */
  client_address: (exchange) => exchange.clientAddress ?? '',
  /** The Host header as the client sent it. */
  host: (exchange) => exchange.host ?? '',
  /** The request's id, as sent upstream and back in `X-Request-Id`: the client's when valid, else a random UUID. */
  request_id: (exchange) => exchange.requestId,
  /** The request method. */
  method: (exchange) => exchange.method,
  /** The normalised path, before rewrites. */
  path: (exchange) => exchange.path,
  /** `http` or `https`, as the client spoke to the balancer. */
  scheme: (exchange) => exchange.scheme,
};

/** A compiled value: fixed text, or a function of the exchange. */
export type Template = string | ((exchange: Exchange) => string);

/**
 * Compiles a rule value with `${variable}` placeholders (see `TEMPLATE_VARIABLES`); `$$` is a
 * literal `$`, and a `$` before anything else stays as it is.
 * @param variables the names it may use @default TEMPLATE_VARIABLES
 * @example compileTemplate('${client_address} via lb', at) // (exchange) => '192.0.2.1 via lb'
 * @throws ConfigProblem for an unknown variable or an unclosed `${`
 */
export function compileTemplate(text: string, at: readonly (string | number)[], variables = TEMPLATE_VARIABLES): Template {
  const parts: Template[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1 || dollar === text.length - 1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      literal += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const close = text.indexOf('}', dollar + 2);
      if (close === -1) throw new ConfigProblem(at, `${JSON.stringify(text)} opens "\${" without closing it; write "$\${" for a literal "\${"`);
      const name = text.slice(dollar + 2, close).trim();
      const variable = Object.hasOwn(variables, name) ? variables[name] : undefined;
      if (!variable) throw new ConfigProblem(at, `unknown variable "\${${name}}"; expected one of ${Object.keys(variables).map((v) => `\${${v}}`).join(', ')}`);
      if (literal) parts.push(literal);
      literal = '';
      parts.push(variable);
      i = close + 1;
    } else {
      literal += '$';
      i = dollar + 1;
    }
  }
  if (literal) parts.push(literal);
  if (parts.every((part) => typeof part === 'string')) return parts.join('');
  return (exchange) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : part(exchange);
    return out;
  };
}

/** The template's text for this exchange. */
export function render(template: Template, exchange: Exchange): string {
  return typeof template === 'string' ? template : template(exchange);
}
