import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/core/config/ConfigError.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { appWith, configErrors } from './rulesFixture.ts';

// Config that does what it says but likely not what it means loads with warnings: `check` prints
// them and passes, `serve` logs them at start-up. Each names its place as errors do.

const warningsOf = (yaml: string) => loadConfig(yaml, 'lb.yaml').warnings.map(formatIssue);

describe('a path_reject entry its route never sees', () => {
  const mango = (rejected: string) => `paths:\n  - path: /mango\n    servers: [localhost:1]\n    firewall_rules:\n      path_reject: [${rejected}]\n`;

  it('is reported: the route only sees paths under its own path', () => {
    expect(warningsOf(mango('/messages, /mango/apps'))).toEqual([
      'lb.yaml:5:21: paths[0].firewall_rules.path_reject[0]: warning: "/messages" can never match: this route only sees paths under /mango; write "/mango/messages" to refuse that path here',
    ]);
  });

  it('is not reported when it lies under the route, covers it, or differs only in case or spelling', () => {
    expect(warningsOf(mango('/mango/messages, /, /mango, /MANGO/x, /mango/./y/, /%6Dango/z'))).toEqual([]);
  });

  it('is not reported on a route that sees every path', () => {
    expect(warningsOf('hosts:\n  - host: a.example\n    servers: [localhost:1]\n    firewall_rules: { path_reject: [/messages] }\n')).toEqual([]);
  });

  it('is reported at the top level when no route sees it', () => {
    const yaml = (routes: string) => `firewall_rules: { path_reject: [/messages, /mango/x] }\npaths:\n${routes}`;
    expect(warningsOf(yaml('  - path: /mango\n    servers: [localhost:1]\n  - path: /apple\n    servers: [localhost:2]\n'))).toEqual([
      'lb.yaml:1:33: firewall_rules.path_reject[0]: warning: "/messages" can never match: no route sees paths under it',
    ]);
    expect(warningsOf(yaml('  - path: /\n    servers: [localhost:1]\n'))).toEqual([]);
  });

  it('still leaves the config served, and the entry refusing nothing', async () => {
    const { send } = appWith(mango('/messages'));
    expect((await send('/mango/messages')).status).toBe(200);
  });
});

describe("a path-only route's firewall that a host route shadows", () => {
  const config = (hostRoute: string) => `hosts:\n${hostRoute}paths:\n  - path: /admin\n    servers: [localhost:2]\n    firewall_rules: { ip_allow: [10.0.0.0/8] }\n`;

  it('is reported for a wildcard host, naming the hosts that escape it', () => {
    expect(warningsOf(config('  - host: "*.mango.com"\n    servers: [localhost:1]\n'))).toEqual([
      'lb.yaml:7:21: paths[0].firewall_rules: warning: these firewall_rules do not protect requests for *.mango.com under /admin (hosts[0]): that route serves them instead; give it the same firewall_rules, or set them at the top level',
    ]);
  });

  it('is reported for an exact host too, and for a host route deeper under the path', () => {
    expect(warningsOf(config('  - host: www.mango.com\n    path: /admin/api\n    servers: [localhost:1]\n  - host: "*.apple.com"\n    servers: [localhost:3]\n'))).toEqual([
      'lb.yaml:10:21: paths[0].firewall_rules: warning: these firewall_rules do not protect requests for www.mango.com under /admin/api (hosts[0]), *.apple.com under /admin (hosts[1]): those routes serve them instead; give them the same firewall_rules, or set them at the top level',
    ]);
  });

  it('is not reported when the host route serves other paths only, or carries the same rules', () => {
    expect(warningsOf(config('  - host: "*.mango.com"\n    path: /shop\n    servers: [localhost:1]\n'))).toEqual([]);
    expect(warningsOf(config('  - host: "*.mango.com"\n    servers: [localhost:1]\n    firewall_rules: { ip_allow: [10.0.0.0/8] }\n'))).toEqual([]);
  });

  it('is not reported for rules that refuse nothing', () => {
    expect(warningsOf('hosts:\n  - host: "*.mango.com"\n    servers: [localhost:1]\npaths:\n  - path: /admin\n    servers: [localhost:2]\n    firewall_rules: { path_reject: [] }\n')).toEqual([]);
  });

  it('is what happens: the wildcard route takes the request past the firewall', async () => {
    const { send } = appWith(config('  - host: "*.mango.com"\n    servers: [localhost:1]\n'), { peer: '192.0.2.1' });
    expect((await send('/admin', { headers: { host: 'shop.mango.com' } })).status).toBe(200);
    expect((await send('/admin', { headers: { host: 'other.example' } })).status).toBe(403);
  });
});

describe('warnings next to errors', () => {
  it('are listed with the errors, in file order, so one run shows everything', () => {
    expect(configErrors('paths:\n  - path: /mango\n    servers: [localhost:1]\n    firewall_rules:\n      path_reject: [/messages]\n      ip_reject: [10.0.0.300]\n').split('\n')).toEqual([
      'lb.yaml:5:21: paths[0].firewall_rules.path_reject[0]: warning: "/messages" can never match: this route only sees paths under /mango; write "/mango/messages" to refuse that path here',
      'lb.yaml:6:19: paths[0].firewall_rules.ip_reject[0]: "10.0.0.300" is not an IPv4 or IPv6 address or CIDR range',
    ]);
  });
});
