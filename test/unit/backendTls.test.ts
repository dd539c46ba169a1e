import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfigFiles } from '../../src/cli/configChecks.ts';
import { besideConfigFile } from '../../src/core/config/besideConfigFile.ts';
import { ConfigError, formatIssue } from '../../src/core/config/ConfigError.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import type { UpstreamTls } from '../../src/core/Upstream.ts';
import { describeError } from '../../src/core/UpstreamError.ts';
import { loadChecked } from '../../src/server/LiveConfig.ts';
import { UpstreamAgents } from '../../src/upstream/UpstreamAgents.ts';
import { errorsOf } from '../helpers/configErrors.ts';

// `tls` on a pool: what the core makes of it (each https:// backend's settings, the conflicts it
// refuses, the warning for verify: false), and what check, start-up and reloads find in the files
// it names. Certificates are made here with Debian's openssl.

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-backend-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...newKey, '-days', '1', '-subj', '/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', '-x509', ...newKey, '-days', '1', '-subj', '/CN=switchyard', '-keyout', 'client.key', '-out', 'client.pem');
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key');
  writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What `switchyard check` prints for a config file in the temporary folder: its warnings, or its errors. */
function checkLines(yaml: string): string[] {
  const file = join(dir, 'lb.yaml');
  writeFileSync(file, yaml);
  try {
    return loadChecked(yaml, file, { checkFiles: checkConfigFiles }).warnings.map(formatIssue);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatIssue);
    throw error;
  }
}

describe('what check says of the files tls names', () => {
  it('finds files beside the config file, and is content with readable PEM and a matching key', () => {
    expect(checkLines('tls: { ca: ca.pem, cert: client.pem, key: client.key }\npaths:\n  - path: /\n    servers: [https://localhost:8443]\n')).toEqual([]);
  });

  it('reports a CA file that cannot be read, at its FILE:LINE:COL', () => {
    expect(checkLines('tls:\n  ca: missing.pem\npaths:\n  - path: /\n    servers: [https://localhost:8443]\n')).toEqual([
      `${dir}/lb.yaml:2:7: tls.ca: cannot read ${dir}/missing.pem: no such file`,
    ]);
  });

  it('reports a key that is not the certificate\'s', () => {
    expect(checkLines('hosts:\n  - host: a.test\n    servers: [https://localhost:8443]\n    tls: { cert: client.pem, key: other.key }\n')).toEqual([
      `${dir}/lb.yaml:4:35: hosts[0].tls.key: ${dir}/other.key is not the private key of the certificate in ${dir}/client.pem`,
    ]);
  });

  it('reports a certificate without its key, and a key without its certificate', () => {
    expect(checkLines('hosts:\n  - host: a.test\n    servers: [https://localhost:8443]\n    tls: { cert: client.pem }\n')).toEqual([
      `${dir}/lb.yaml:4:10: hosts[0].tls: cert needs key, its private key, in the same tls`,
    ]);
    expect(checkLines('tls: { key: client.key }\npaths:\n  - path: /\n    servers: [https://localhost:8443]\n')).toEqual([
      `${dir}/lb.yaml:1:6: tls: key needs cert, the certificate it belongs to, in the same tls`,
    ]);
  });

  it('reports files that are not PEM: a CA file without certificates, a key that is not one', () => {
    expect(checkLines('paths:\n  - path: /\n    servers: [https://localhost:8443]\n    tls: { ca: garbage.pem }\n  - path: /b\n    servers: [https://localhost:8444]\n    tls: { cert: client.pem, key: garbage.pem }\n')).toEqual([
      `${dir}/lb.yaml:4:16: paths[0].tls.ca: ${dir}/garbage.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      `${dir}/lb.yaml:7:35: paths[1].tls.key: ${dir}/garbage.pem is not an unencrypted PEM private key`,
    ]);
  });

  it('warns of verify: false, naming the backends left unchecked', () => {
    expect(
      checkLines(
        'tls: { verify: false }\nhosts:\n  - host: a.test\n    servers: [https://localhost:8443, https://localhost:8444, localhost:8080]\n  - host: b.test\n    servers: [https://localhost:9443]\n    tls: { verify: true }\n  - host: c.test\n    servers: [https://10.0.0.1:443]\n    tls: { verify: false }\n',
      ),
    ).toEqual([
      `${dir}/lb.yaml:1:16: tls.verify: warning: certificates of https://localhost:8443, https://localhost:8444 are not verified: anyone on the path to them can pose as them`,
      `${dir}/lb.yaml:10:20: hosts[2].tls.verify: warning: certificates of https://10.0.0.1 are not verified: anyone on the path to it can pose as it`,
    ]);
  });
});

describe('tls in the config', () => {
  const backendsOf = (yaml: string, file = '/etc/switchyard/lb.yaml') => loadConfig(yaml, file).backends;

  it('gives every https:// backend settings: verified, checked against its own host, by default', () => {
    const [plain, named, address, v6] = backendsOf('paths:\n  - path: /\n    servers: [localhost:8080, https://Api.Example:8443/v1, https://10.0.0.5, "https://[::1]:8443"]\n');
    expect(plain.tls).toBeUndefined();
    expect(named.tls).toEqual({ servername: 'api.example', verify: true });
    expect(address.tls).toEqual({ servername: '10.0.0.5', verify: true });
    expect(v6.tls).toEqual({ servername: '::1', verify: true });
  });

  it("lays a route's tls over the top level's field by field, file names taken beside the config file", () => {
    const [a, b] = backendsOf(
      'tls: { ca: certs/ca.pem, cert: /abs/client.pem, key: /abs/client.key }\nhosts:\n  - host: a.test\n    servers: [https://a.internal]\n    tls: { servername: api.internal }\n  - host: b.test\n    servers: [https://b.internal]\n    tls: { cert: b.pem, key: b.key, verify: false }\n',
    );
    expect(a.tls).toEqual({ servername: 'api.internal', verify: true, ca: '/etc/switchyard/certs/ca.pem', cert: '/abs/client.pem', key: '/abs/client.key' });
    expect(b.tls).toEqual({ servername: 'b.internal', verify: false, ca: '/etc/switchyard/certs/ca.pem', cert: '/etc/switchyard/b.pem', key: '/etc/switchyard/b.key' });
  });

  it('shares a backend between routes that give it the same tls', () => {
    const backends = backendsOf('tls: { ca: ca.pem }\nhosts:\n  - host: a.test\n    servers: [https://a.internal]\n  - host: b.test\n    servers: [https://a.internal]\n    tls: { ca: ca.pem }\n');
    expect(backends).toHaveLength(1);
  });

  it('refuses two routes that give one backend different tls, naming both', () => {
    expect(errorsOf('hosts:\n  - host: a.test\n    servers: [https://a.internal]\n    tls: { servername: x.internal }\npaths:\n  - path: /\n    servers: [https://a.internal]\n')).toEqual([
      'lb.yaml:7:15: paths[0].servers[0]: "https://a.internal" is also a server of hosts[0], with different tls settings; a backend\'s connections are set up once for all its routes, so give both routes the same tls (or set it once at the top level)',
    ]);
  });

  it('refuses tls where no https:// server would use it: a plain-http route, or the top level with no https:// server anywhere', () => {
    expect(errorsOf('hosts:\n  - host: a.test\n    servers: [localhost:8080, http://b.internal]\n    tls: { ca: ca.pem }\n')).toEqual([
      'lb.yaml:4:10: hosts[0].tls: tls is for https:// servers, and every server of this route is plain http: write them as https://HOST:PORT',
    ]);
    expect(errorsOf('tls: { ca: ca.pem }\npaths:\n  - path: /\n    servers: [localhost:8080]\n')).toEqual([
      'lb.yaml:1:6: tls: tls is for https:// servers, and no route or pool has one: write them as https://HOST:PORT',
    ]);
    // A default some routes do not use is fine.
    expect(backendsOf('tls: { ca: ca.pem }\npaths:\n  - path: /\n    servers: [localhost:8080]\n  - path: /s\n    servers: [https://s.internal]\n')).toHaveLength(2);
  });

  it('refuses a servername that is not a host name', () => {
    expect(errorsOf('paths:\n  - path: /\n    servers: [https://a.internal]\n    tls: { servername: "a b" }\n')).toEqual([
      'lb.yaml:4:24: paths[0].tls.servername: "a b" is not a host name',
    ]);
  });
});

describe('besideConfigFile', () => {
  it('takes a relative name from the config file\'s directory, and leaves an absolute one', () => {
    expect(besideConfigFile('/etc/switchyard/lb.yaml', 'certs/ca.pem')).toBe('/etc/switchyard/certs/ca.pem');
    expect(besideConfigFile('conf/lb.yaml', 'ca.pem')).toBe('conf/ca.pem');
    expect(besideConfigFile('lb.yaml', 'ca.pem')).toBe('ca.pem');
    expect(besideConfigFile('/etc/switchyard/lb.yaml', '/srv/ca.pem')).toBe('/srv/ca.pem');
    expect(besideConfigFile(undefined, 'ca.pem')).toBe('ca.pem');
  });
});

describe('the upstream agents for TLS settings', () => {
  const settings = (ca: string): UpstreamTls => ({ servername: 'localhost', verify: true, ca });

  it('keeps one agent for equal settings whose files did not change, across reloads (new settings objects)', async () => {
    const agents = new UpstreamAgents();
    const ca = join(dir, 'agents-same.pem');
    writeFileSync(ca, readFileSync(join(dir, 'ca.pem')));
    const first = agents.for(5_000, settings(ca));
    expect(agents.for(5_000, settings(ca))).toBe(first);
    expect(agents.for(1_000, settings(ca))).not.toBe(first);
    expect(agents.for(5_000, { ...settings(ca), servername: 'other' })).not.toBe(first);
    await agents.close();
  });

  it('reads a changed file for the settings of a new config, and closes the agent it replaces', async () => {
    const agents = new UpstreamAgents();
    const ca = join(dir, 'agents-changed.pem');
    writeFileSync(ca, readFileSync(join(dir, 'ca.pem')));
    const before = settings(ca);
    const old = agents.for(5_000, before);
    writeFileSync(ca, readFileSync(join(dir, 'client.pem')));
    // The config in use is not read again until a reload compiles new settings.
    expect(agents.for(5_000, before)).toBe(old);
    const reloaded = agents.for(5_000, settings(ca));
    expect(reloaded).not.toBe(old);
    expect(old.closed).toBe(true);
    // A request of the old config after the reload goes through the agent with the new file.
    expect(agents.for(5_000, before)).toBe(reloaded);
    await agents.close();
  });

  it('says which file it cannot read', () => {
    expect(() => new UpstreamAgents().for(5_000, settings(join(dir, 'gone.pem')))).toThrow(`tls: cannot read ${dir}/gone.pem: no such file`);
  });
});

describe('the error log of a TLS failure', () => {
  it("gives OpenSSL's reason rather than its internals", () => {
    const error = Object.assign(new Error('80AC4185A97F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n'), {
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      reason: 'tlsv13 alert certificate required',
    });
    expect(describeError(error)).toBe('tls: tlsv13 alert certificate required (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)');
  });
});
