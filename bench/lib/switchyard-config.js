// The Switchyard configs the scenarios use, written as YAML text by hand: the point is to feed
// the CLI exactly what a user would write, not whatever a serializer prefers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const list = (servers) => `[${servers.map((s) => JSON.stringify(s)).join(', ')}]`;

/** The plain case: every path goes to both backends. */
export function pathsConfig(servers) {
  return `paths:\n  - path: /\n    servers: ${list(servers)}\n`;
}

/**
 * The tutorial's features switched on for one host (DESIGN.md's loadbalancer.yaml, trimmed to
 * what does per-request work): header and query rewriting, a firewall that lets `/` through, and
 * least-connections balancing; health checks are on (the default), as in the plain config.
 * Requests must carry `Host: bench.local`.
 */
export const TUTORIAL_HOST = 'bench.local';
export function tutorialConfig(servers) {
  return `hosts:
  - host: ${TUTORIAL_HOST}
    algorithm: least_connections
    header_rules:
      add: { MyCustomHeader: Test }
    param_rules:
      add: { MyCustomParam: Test }
    firewall_rules:
      ip_reject: [10.192.0.1]
      path_reject: [/messages]
    servers: ${list(servers)}
`;
}

/** `count` path routes /r0 ... /r{count-1}, all to the same backends; the last one is requested. */
export function manyRoutesConfig(servers, count) {
  const servers$ = list(servers);
  const lines = ['paths:'];
  for (let i = 0; i < count; i += 1) lines.push(`  - path: /r${i}`, `    servers: ${servers$}`);
  return `${lines.join('\n')}\n`;
}
export const lastRoutePath = (count) => `/r${count - 1}`;

/**
 * `count` path routes, half of them with `match` conditions: each path /r0 ... /r{count/2-1} has a
 * plain route and, written after it but tried first, one for GET with its own `X-Tenant` value.
 * The last path's conditioned route is requested (matchedRouteRequest), so the lookup evaluates
 * conditions as well as walking the table.
 */
export function manyMatchRoutesConfig(servers, count) {
  const servers$ = list(servers);
  const lines = ['paths:'];
  for (let i = 0; i < count / 2; i += 1) {
    lines.push(`  - path: /r${i}`, `    servers: ${servers$}`);
    lines.push(`  - path: /r${i}`, `    match: { methods: [GET], headers: { X-Tenant: "t${i}" } }`, `    servers: ${servers$}`);
  }
  return `${lines.join('\n')}\n`;
}
export const matchedRouteRequest = (count) => ({ path: `/r${count / 2 - 1}`, headers: { 'X-Tenant': `t${count / 2 - 1}` } });

/**
 * Path routes and a path firewall, with limits raised so a 16 KiB request-target gets through
 * (the defaults, nginx's, stop at 8 KiB): the request walks the route table and `path_reject`
 * like any other, and falls through to `/`.
 */
export function longPathConfig(servers) {
  const servers$ = list(servers);
  return `limits:
  max_request_target: 64KiB
  max_header_size: 64KiB
paths:
  - path: /
    servers: ${servers$}
    firewall_rules:
      path_reject: [/private, /a/b, /a/a/c]
  - path: /api/v2
    servers: ${servers$}
  - path: /a/b
    servers: ${servers$}
`;
}

export function writeConfig(dir, name, text) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
