import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';
import worker from '../../src/workers.ts';
import { isolateBalancer, MISSING_CONFIG } from '../../src/workers/isolateBalancer.ts';

// The Worker's per-isolate state, through the app and without workerd: which config it compiles,
// and what a broken or missing LB_CONFIG does.

const bundled = readFileSync(join(PROJECT_ROOT, 'examples/loadbalancer.yaml'), 'utf8');

describe('isolateBalancer', () => {
  it('compiles LB_CONFIG once and reuses it while the text is the same', () => {
    const env = { LB_CONFIG: '{"paths":[{"path":"/a","servers":["127.0.0.1:1"],"health_check":false}]}' };
    const first = isolateBalancer(env, bundled, () => {});
    expect(first.ok).toBe(true);
    expect(isolateBalancer({ ...env }, bundled, () => {})).toBe(first);
  });

  it('says once that tls.acme does nothing on Workers, and serves the routes', () => {
    const lines: string[] = [];
    const env = {
      LB_CONFIG: JSON.stringify({
        listen: [{ address: '0.0.0.0:80' }, { address: '0.0.0.0:443', tls: { acme: { email: 'ops@a.test', storage: 'acme' } } }],
        paths: [{ path: '/', servers: ['127.0.0.1:1'], health_check: false }],
      }),
    };
    const balancer = isolateBalancer(env, bundled, (line) => lines.push(line));
    expect(balancer.ok).toBe(true);
    expect(isolateBalancer({ ...env }, bundled, (line) => lines.push(line))).toBe(balancer);
    expect(lines).toEqual(['switchyard: listen[1].tls.acme does nothing on Workers: Cloudflare terminates TLS and issues the certificates (docs/automatic-https.md)']);
  });

  it('serves the bundled example only when LB_CONFIG is unset and LB_DEMO is 1', async () => {
    const balancer = isolateBalancer({ LB_DEMO: '1' }, bundled, () => {});
    if (!balancer.ok) throw new Error(balancer.problem);
    const reply = await balancer.app.request('/messages', { headers: { host: 'www.mango.com' } });
    expect(reply.status).toBe(403);
    const configured = isolateBalancer({ LB_DEMO: '1', LB_CONFIG: '{"paths":[{"path":"/","servers":["127.0.0.1:1"],"health_check":false}]}' }, bundled, () => {});
    if (!configured.ok) throw new Error(configured.problem);
    expect(configured.config.backends.map((backend) => backend.id)).toEqual(['http://127.0.0.1:1']);
  });

  it.each([{}, { LB_DEMO: '0' }])('refuses to serve without LB_CONFIG, saying so once in the log (%o)', (env) => {
    isolateBalancer({ LB_DEMO: '1' }, bundled, () => {}); // another config first: the isolate starts anew
    const lines: string[] = [];
    const balancer = isolateBalancer(env, bundled, (line) => lines.push(line));
    expect(balancer.ok).toBe(false);
    expect(isolateBalancer(env, bundled, (line) => lines.push(line))).toBe(balancer);
    expect(lines).toEqual([MISSING_CONFIG]);
    expect(lines[0]).toMatch(/^switchyard: LB_CONFIG is not set, .*LB_DEMO=1/);
  });

  it("answers 500 through the Worker's fetch when LB_CONFIG is unset", async () => {
    const original = console.error;
    console.error = () => {};
    try {
      const ctx = { waitUntil: () => {}, passThroughOnException: () => {} };
      const reply = await worker.fetch(new Request('http://lb.test/messages', { headers: { host: 'www.mango.com' } }), {}, ctx as never);
      expect(reply.status).toBe(500);
      expect(await reply.text()).not.toContain('LB_CONFIG');
    } finally {
      console.error = original;
    }
  });

  it('logs a broken LB_CONFIG with its location and answers 500 without the details', async () => {
    const lines: string[] = [];
    const balancer = isolateBalancer({ LB_CONFIG: 'paths:\n  - path: /a\n    servers: [localhost:80x0]\n' }, bundled, (line) => lines.push(line));
    expect(balancer.ok).toBe(false);
    expect(lines.join('\n')).toMatch(/^LB_CONFIG:3:\d+: paths\[0\]\.servers\[0\]/m);
  });

  it("answers every request with 500 through the Worker's fetch when LB_CONFIG is broken, without the details", async () => {
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const env = { LB_CONFIG: 'paths:\n  - path: /b\n    servers: [localhost:80x0]\n' };
      const ctx = { waitUntil: () => {}, passThroughOnException: () => {} };
      const reply = await worker.fetch(new Request('http://lb.test/b'), env, ctx as never);
      expect(reply.status).toBe(500);
      expect(await reply.text()).not.toContain('80x0');
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      console.error = original;
    }
  });

  it("fills ${env:NAME} from the Worker's text bindings; another binding is not set", () => {
    const env = { LB_CONFIG: '{"paths":[{"path":"/","servers":["${env:BACKEND}","127.0.0.1:${env:PORT}"],"health_check":false}]}', BACKEND: '127.0.0.1:7', PORT: 8 };
    const balancer = isolateBalancer(env, bundled, () => {});
    if (!balancer.ok) throw new Error(balancer.problem);
    expect(balancer.config.backends.map((backend) => backend.id)).toEqual(['http://127.0.0.1:7', 'http://127.0.0.1:8']);
    const lines: string[] = [];
    const withKv = isolateBalancer({ ...env, BACKEND: { get() {} } }, bundled, (line) => lines.push(line));
    expect(withKv.ok).toBe(false);
    expect(lines.join('\n')).toContain('LB_CONFIG:1:34: paths[0].servers[0]: ${env:BACKEND} is not set');
  });

  it("takes the client's address from CF-Connecting-IP", async () => {
    const balancer = isolateBalancer({ LB_CONFIG: '{"paths":[{"path":"/","servers":["127.0.0.1:1"],"health_check":false}],"firewall_rules":{"ip_reject":["198.51.100.7"]}}' }, bundled, () => {});
    if (!balancer.ok) throw new Error(balancer.problem);
    expect((await balancer.app.request('/', { headers: { 'cf-connecting-ip': '198.51.100.7' } })).status).toBe(403);
  });
});
