import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, startBalancer, writeConfig } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { cli } from '../helpers/runCli.ts';

describe('switchyard check', () => {
  it('summarises a valid config and exits 0', async () => {
    const { code, stdout } = await cli('check', '--config', 'examples/loadbalancer.yaml');
    expect(code).toBe(0);
    expect(stdout).toContain('examples/loadbalancer.yaml: ok');
    expect(stdout).toContain('3 routes, 6 backends');
    expect(stdout).toContain('host www.mango.com -> 3 server(s)');
    expect(stdout).toContain('http://localhost:8081: probed GET /healthcheck every 5000 ms (timeout 1000 ms), passive ejection after 5 failures');
  });

  it('prints each error as FILE:LINE:COL: field: message and exits 1', async () => {
    const file = await writeConfig('paths:\n  - path: /\n    servrs: [localhost:1]\n    servers: [localhost:99999]\n');
    const { code, stdout, stderr } = await cli('check', '--config', file);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `${file}:3:5: paths[0].servrs: unknown key "servrs"; did you mean "servers"?`,
      `${file}:4:15: paths[0].servers[0]: "localhost:99999" has port 99999, outside 1-65535`,
    ]);
  });

  it('prints warnings as FILE:LINE:COL: field: warning: message and still exits 0', async () => {
    const file = await writeConfig('paths:\n  - path: /mango\n    servers: [localhost:1]\n    firewall_rules:\n      path_reject: [/messages]\n');
    const { code, stdout, stderr } = await cli('check', '--config', file);
    expect(code).toBe(0);
    expect(stdout).toContain(`${file}: ok`);
    expect(stderr.trim().split('\n')).toEqual([
      `${file}:5:21: paths[0].firewall_rules.path_reject[0]: warning: "/messages" can never match: this route only sees paths under /mango; write "/mango/messages" to refuse that path here`,
    ]);
  });

  it('lists every compile error in one run, in file order, a catastrophic regex among them', async () => {
    const file = await writeConfig(
      [
        'paths:',
        '  - path: /a',
        '    servers: [localhost:1]',
        '    firewall_rules:',
        '      ip_allow: [10.0.0.0/33]',
        '      user_agent_reject: ["^(a+)+$", ""]',
        '  - path: /b',
        '    servers: [localhost:2]',
        '    header_rules: { set: { X-A: "${nope}" } }',
        'trusted_proxies: [nohost]',
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await cli('check', '--config', file);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n').map((line) => line.slice(file.length).replace(/ \(ReDoS\).*/, ' (ReDoS)'))).toEqual([
      ':5:18: paths[0].firewall_rules.ip_allow[0]: "10.0.0.0/33" has prefix length /33; expected 0-32',
      ':6:27: paths[0].firewall_rules.user_agent_reject[0]: "^(a+)+$" backtracks catastrophically (ReDoS)',
      ':6:38: paths[0].firewall_rules.user_agent_reject[1]: an empty pattern matches everything, so it is taken for a mistake; write what it should match',
      ':9:33: paths[1].header_rules.set.X-A: unknown variable "${nope}"; expected one of ${client_address}, ${host}, ${request_id}, ${method}, ${path}, ${scheme}',
      ':10:19: trusted_proxies[0]: "nohost" is not an IPv4 or IPv6 address or CIDR range',
    ]);
  });

  it('says which file it cannot read, without a stack trace', async () => {
    const { code, stderr } = await cli('check', '--config', 'nope.yaml');
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`switchyard: cannot read ${join(PROJECT_ROOT, 'nope.yaml')}: no such file`);
  });
});

describe('switchyard --help and --version', () => {
  it('prints usage', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('serve --config FILE [--port 8080] [--hostname 127.0.0.1]');
  });

  it('lists every option with its short form', async () => {
    const { stdout } = await cli('-h');
    for (const option of ['-c, --config FILE', '-p, --port PORT', '-H, --hostname HOST', '-h, --help', '-v, --version']) expect(stdout).toContain(`\n  ${option} `);
  });

  it('names an unknown option and suggests the likely one, with exit code 2', async () => {
    expect(await cli('serve', '--prot', '8080', '--config', 'lb.yaml')).toMatchObject({ code: 2, stderr: 'switchyard: unknown option --prot; did you mean --port?\n' });
    expect(await cli('check', '--frobnicate')).toMatchObject({
      code: 2,
      stderr: 'switchyard: unknown option --frobnicate; the options are -c/--config, -p/--port, -H/--hostname, --access-log, --admin, --watch, --workers, -h/--help, -v/--version\n',
    });
    expect(await cli('check', '--config')).toMatchObject({ code: 2, stderr: 'switchyard: option --config needs a value\n' });
  });

  it('prints the package version', async () => {
    const { code, stdout } = await cli('--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8')).version);
  });

  it('refuses an unknown command with usage on stderr', async () => {
    const { code, stderr } = await cli('launch');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "launch"');
  });
});

describe('what a newcomer gets wrong, said plainly', () => {
  it('says a --config that is a directory is one', async () => {
    const dir = dirname(await writeConfig(''));
    const { code, stderr } = await cli('check', '--config', dir);
    expect(code).toBe(1);
    expect(stderr).toBe(`switchyard: cannot read ${dir}: it is a directory; --config takes a file\n`);
  });

  it('says the config must be a mapping with hosts and/or paths when it is a list', async () => {
    const file = await writeConfig('- host: a.example\n  servers: [localhost:1]\n');
    const { code, stderr } = await cli('check', '--config', file);
    expect(code).toBe(1);
    expect(stderr).toBe(`${file}:1:1: the config must be a mapping with hosts and/or paths at the top level, not a list\n`);
  });

  it('suggests a port for a server written without one', async () => {
    const file = await writeConfig('paths:\n  - path: /\n    servers: [localhost]\n');
    const { code, stderr } = await cli('check', '--config', file);
    expect(code).toBe(1);
    expect(stderr).toBe(`${file}:3:15: paths[0].servers[0]: "localhost" has no port: write "localhost:PORT", or "http://localhost" for port 80\n`);
  });

  it('refuses a .json config that is not strict JSON, at the trailing comma', async () => {
    const file = await writeConfig('{\n  "paths": [\n    { "path": "/", "servers": ["localhost:1"] },\n  ]\n}\n', 'lb.json');
    const { code, stderr } = await cli('check', '--config', file);
    expect(code).toBe(1);
    expect(stderr).toBe(`${file}:3:48: a trailing comma after the last item, which JSON does not allow (a .json config is strict JSON; YAML, which allows more, goes in a .yaml file)\n`);
  });

  it('names the address when the port is in use', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const file = await writeConfig('health_check: false\npaths: [{ path: /, servers: [localhost:1] }]\n');
      const { code, stderr } = await cli('serve', '--config', file, '--port', String(port));
      expect(code).toBe(1);
      expect(stderr).toBe(`switchyard: cannot listen on 127.0.0.1:${port}: address already in use\n`);
    } finally {
      taken.close();
    }
  });

  it('says a --hostname that cannot resolve cannot (a name under .invalid: RFC 6761, no lookup leaves the machine)', async () => {
    const file = await writeConfig('health_check: false\npaths: [{ path: /, servers: [localhost:1] }]\n');
    const { code, stderr } = await cli('serve', '--config', file, '--port', '0', '--hostname', 'balancer.invalid');
    expect(code).toBe(1);
    expect(stderr).toBe('switchyard: cannot listen on balancer.invalid:0: the host name cannot be resolved\n');
  });
});

describe('switchyard serve', () => {
  let backend: TestBackend;
  beforeAll(async () => {
    backend = await startTestBackend('drain');
  });
  afterAll(() => backend.close());

  it('prints exactly one listening line on a free port when given --port 0', async () => {
    const balancer = await startBalancer(`paths:\n  - path: /\n    servers: [${backend.address}]\n`);
    try {
      expect(balancer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(balancer.output().match(/listening on/g)).toHaveLength(1);
    } finally {
      await balancer.stop();
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('finishes in-flight requests on %s, refuses new ones, and exits 0', async (signal) => {
    const balancer = await startBalancer(`paths:\n  - path: /\n    servers: [${backend.address}]\n`);
    const marker = `${signal}-${Date.now()}`;
    const inFlight = get(`${balancer.url}/slow/1500?${marker}`);
    await waitFor(() => backend.seen.some((r) => r.url.endsWith(marker)), 5_000, 'the slow request to reach the backend');
    const exit = balancer.stop(signal);
    const refused = async () => get(`${balancer.url}/late`).then(() => false, (error: Error) => /ECONNREFUSED/.test(error.message));
    await waitFor(refused, 1_000, 'new connections to be refused');
    expect(await inFlight).toEqual({ status: 200, body: 'slow\n' });
    expect(await exit).toBe(0);
  });

  it('logs the config warnings at start-up, on stderr', async () => {
    const balancer = await startBalancer(`paths:\n  - path: /mango\n    servers: [${backend.address}]\n    firewall_rules: { path_reject: [/messages] }\n`);
    try {
      expect(balancer.output()).toMatch(/:4:37: paths\[0\]\.firewall_rules\.path_reject\[0\]: warning: "\/messages" can never match/);
    } finally {
      await balancer.stop();
    }
  });

  it('exits 1 with the config error when the config is broken', async () => {
    const file = await writeConfig('paths: [{ path: /, servers: [nohost:80x] }]\n');
    const { code, stderr } = await cli('serve', '--config', file, '--port', '0');
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`${file}:1:30: paths[0].servers[0]: "nohost:80x" is not host:port or an http(s) URL`);
  });
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
