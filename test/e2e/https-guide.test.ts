import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PROJECT_ROOT } from '../helpers/startBalancer.ts';
import { freePort } from '../helpers/freePort.ts';
import { serveProcess, type ServeProcess } from '../helpers/serveProcess.ts';

// docs/https.md, "HTTPS in five minutes", followed as written: its openssl command, its config and
// its two curl commands, on free ports instead of 8443, 8080 and 9000.

const run = promisify(execFile);
const guide = readFileSync(join(PROJECT_ROOT, 'docs/https.md'), 'utf8');
const blocks = [...guide.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((match) => ({ lang: match[1], text: match[2] }));
const dir = mkdtempSync(join(tmpdir(), 'switchyard-guide-'));
let ports: Record<'8443' | '8080' | '9000', number>;
let backend: Server;
let served: ServeProcess;

/** The guide's text with its ports moved to the free ones. */
const onFreePorts = (text: string) => text.replace(/\b(8443|8080|9000)\b/g, (port) => String(ports[port as keyof typeof ports]));

beforeAll(async () => {
  ports = { 8443: await freePort(), 8080: await freePort(), 9000: await freePort() };
  // Step 1: the certificate, with the guide's own command.
  const openssl = blocks.find((block) => block.lang === 'sh' && block.text.startsWith('openssl req'))!.text.replace(/\\\n\s*/g, '');
  await run('sh', ['-c', openssl], { cwd: dir });
  // Step 2: the config, beside the certificate.
  writeFileSync(join(dir, 'lb.yaml'), onFreePorts(blocks.find((block) => block.lang === 'yaml' && block.text.includes('redirect_https'))!.text));
  backend = createServer((request, response) => response.end(`backend saw ${request.headers['x-forwarded-proto']} ${request.url}\n`));
  await new Promise<void>((resolve) => backend.listen(ports[9000], '127.0.0.1', resolve));
  served = await serveProcess('node', { file: join(dir, 'lb.yaml') }, { loopback: false, listeners: 2 });
}, 30_000);

afterAll(async () => {
  await served?.stop();
  await new Promise((resolve) => backend?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS in five minutes (docs/https.md), as written', () => {
  it('passes check, certificates included', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'check', '--config', join(dir, 'lb.yaml')]);
    expect(stdout).toMatch(/: ok\n/);
  });

  it('prints the two listening lines the guide shows', () => {
    expect(served.urls).toEqual([`https://127.0.0.1:${ports[8443]}`, `http://127.0.0.1:${ports[8080]}`]);
  });

  it("answers the guide's two curl commands: HTTPS to the backend, and 308 from plain HTTP", async () => {
    const commands = blocks
      .find((block) => block.lang === 'sh' && block.text.includes('curl --cacert'))!
      .text.split('\n')
      .filter((line) => line.startsWith('curl'))
      .map((line) => onFreePorts(line.replace(/\s+#.*$/, '')));
    const [secure, redirect] = await Promise.all(commands.map((command) => run('sh', ['-c', command], { cwd: dir })));
    expect(secure.stdout).toBe('backend saw https /\n');
    expect(redirect.stdout).toMatch(/^HTTP\/1\.1 308 Permanent Redirect\r\n/);
    expect(redirect.stdout).toMatch(new RegExp(`\\r\\nlocation: https://app\\.test:${ports[8443]}/x\\r\\n`, 'i'));
  });
});
