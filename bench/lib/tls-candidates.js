// The TLS scenario's candidates, each terminating TLS with the same certificate in front of the
// same backends: nginx (one worker, `listen ... ssl http2`, upstream keep-alive as in
// candidates/nginx.js) and Switchyard on Node or Deno started on a config `listen` entry with `tls`
// (no --port/--hostname, which would replace it). All offer h2 and http/1.1 by ALPN on one port.
import { nginxConfig } from '../candidates/nginx.js';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { startChild, stopChild, waitForOutput } from './children.js';
import { freePort, waitForTcp } from './net.js';
import { denoBinary, which } from './tools.js';
import { repoRoot, switchyardCli } from './paths.js';

const list = (servers) => `[${servers.map((s) => JSON.stringify(s)).join(', ')}]`;

/** Every path to both backends, on one TLS listener (h2 and http/1.1). */
export function tlsPathsConfig({ servers, port, cert, key }) {
  return `listen:
  - address: 127.0.0.1:${port}
    tls:
      certificates:
        - { cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)} }
paths:
  - path: /
    servers: ${list(servers)}
`;
}

/**
 * nginx's TLS settings follow Switchyard's defaults (docs/https.md): TLS 1.2 and 1.3 (nginx 1.22's
 * own default still lacks 1.3), Mozilla's intermediate suites, session tickets on, no session cache.
 */
export function nginxTlsConfig({ port, servers, dir, cert, key }) {
  return nginxConfig({
    port,
    servers,
    dir,
    listen: ' ssl http2',
    http: '  http2_max_requests 1000000;\n',
    server: `    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers on;
    ssl_session_tickets on;
`,
  });
}

export async function startTlsNginx({ servers, tmpDir, timeoutMs, cert, key }) {
  const nginx = which('nginx');
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = join(tmpDir, 'nginx-tls');
  mkdirSync(dir, { recursive: true });
  chmodSync(tmpDir, 0o711); // as candidates/nginx.js: the worker runs as nobody
  const port = await freePort();
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, nginxTlsConfig({ port, servers, dir, cert, key }));
  const record = startChild(nginx, ['-c', configPath, '-p', dir, '-e', `${dir}/startup.log`], { name: 'nginx-tls' });
  await waitForTcp(record, port, timeoutMs);
  return { record, url: `https://127.0.0.1:${port}`, pid: record.child.pid };
}

const LISTENING = /listening on https:\/\/(\[[^\]]+\]|[^\s:/]+):(\d+)/;

/** Switchyard with `--access-log off`, as nginx runs, on the config's TLS listener. */
export async function startTlsSwitchyard({ runtime, servers, tmpDir, timeoutMs, cert, key }) {
  const port = await freePort();
  const configPath = join(tmpDir, `https-${runtime}.yaml`);
  writeFileSync(configPath, tlsPathsConfig({ servers, port, cert, key }));
  const flags = ['--config', configPath, '--access-log', 'off'];
  let record;
  if (runtime === 'node') {
    record = startChild(process.execPath, [switchyardCli, 'serve', ...flags], { cwd: repoRoot, name: 'switchyard-node' });
  } else {
    const deno = denoBinary();
    if (!deno) throw new Error('no deno binary (npm ci installs one under node_modules/deno)');
    record = startChild(deno, ['task', 'serve', ...flags], { cwd: repoRoot, name: 'switchyard-deno', env: { ...process.env, NO_COLOR: '1' } });
  }
  try {
    const [, host, listening] = await waitForOutput(record, LISTENING, timeoutMs);
    return { record, url: `https://${host}:${listening}`, pid: record.child.pid };
  } catch (error) {
    await stopChild(record, 500);
    throw error;
  }
}

/** Polls `url` over HTTPS (trusting `cert`) until it answers 2xx; rejects with the last status or error. */
export async function waitUntilServingTls(url, { cert, timeoutMs = 10_000 }) {
  const ca = readFileSync(cert);
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const status = await new Promise((resolve, reject) => {
        const req = https.get(url, { ca, agent: false, timeout: 2000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
        req.on('error', reject);
      });
      if (status >= 200 && status < 300) return;
      last = `HTTP ${status}`;
    } catch (error) {
      last = error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not answering 2xx over HTTPS within ${timeoutMs / 1000} s (last: ${last})`);
}
