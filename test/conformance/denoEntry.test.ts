import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENO_BINARY } from '../helpers/runtimes.ts';
import { PROJECT_ROOT, writeConfig } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { send } from './client.ts';
import { waitFor } from '../helpers/waitFor.ts';

// What only the Deno entry point does, on the server process itself (no `deno task` in between,
// as the README advises under a supervisor): its output contract and its graceful stop.

describe('src/deno.ts', () => {
  let backend: TestBackend;

  beforeAll(async () => {
    backend = await startTestBackend('slow');
  });

  afterAll(async () => {
    await backend?.close();
  });

  it('prints one listening line, finishes an in-flight request after SIGTERM, and exits 0', async () => {
    const config = await writeConfig(JSON.stringify({ paths: [{ path: '/', servers: [backend.address] }] }));
    const child = spawn(DENO_BINARY, ['run', '--allow-net', '--allow-read', '--allow-env', 'src/deno.ts', '--config', config, '--port', '0'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      child.stderr!.resume();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${stdout}`)), 20_000);
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
      });

      const marker = `deno-${Date.now()}`;
      const inFlight = send(url, `/slow/1500?${marker}`, { headers: { host: 'a.example' } });
      await waitFor(() => backend.seen.some((r) => r.url.endsWith(marker)), 5_000, 'the slow request to reach the backend');
      child.kill('SIGTERM');
      const reply = await inFlight;
      expect(reply.status).toBe(200);
      expect(reply.text()).toBe('slow\n');
      expect(await exited).toBe(0);
      // One listening line, then the access log: the request drained at SIGTERM is logged too.
      const [listening, ...logged] = stdout.trimEnd().split('\n');
      expect(listening).toBe(`listening on ${url}`);
      expect(logged.map((line) => JSON.parse(line))).toMatchObject([{ path: '/slow/1500', query: marker, status: 200 }]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
