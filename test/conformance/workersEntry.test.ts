import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOnRuntime, type RuntimeBalancer } from '../helpers/runtimes.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';
import { holdsFor, waitFor } from '../helpers/waitFor.ts';
import { send } from './client.ts';

// What only the Workers entry point does, seen through `wrangler dev`: the bundled config only when
// the demo is asked for (LB_DEMO=1), a loud 500 without LB_CONFIG, and health probes without timers
// (per isolate, and from Cron Triggers) when there is no SWITCHYARD_STATE binding.

describe('the Worker under wrangler dev', () => {
  let backend: TestBackend;
  let withConfig: RuntimeBalancer;
  let bundled: RuntimeBalancer;
  let unset: RuntimeBalancer;
  const probes = () => backend.seen.filter((seen) => seen.url === '/healthcheck').length;

  beforeAll(async () => {
    backend = await startTestBackend('only');
    // The backend's address comes from another var, through ${env:NAME}.
    const config = { paths: [{ path: '/', servers: ['${env:SWITCHYARD_BACKEND}'], health_check: { interval: '1h' } }] };
    [withConfig, bundled, unset] = await Promise.all([
      // Without the SWITCHYARD_STATE object: each isolate probes for itself, as these cases say.
      startOnRuntime('workerd', { config: JSON.stringify(config), vars: { SWITCHYARD_BACKEND: backend.address } }, { sharedState: 'none' }),
      startOnRuntime('workerd', { demo: true }),
      startOnRuntime('workerd', undefined),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([withConfig?.stop(), bundled?.stop(), unset?.stop()]);
    await backend?.close();
  });

  it('answers 500 and logs that LB_CONFIG is not set when neither LB_CONFIG nor LB_DEMO is', async () => {
    const reply = await send(unset.url, '/messages', { headers: { host: 'www.mango.com' } });
    expect(reply.status).toBe(500);
    await waitFor(() => unset.output().includes('LB_CONFIG is not set'), 5_000, 'the log line naming LB_CONFIG');
    expect(unset.output()).toContain('set LB_DEMO=1 to serve the bundled examples/loadbalancer.yaml');
  });

  it('serves the bundled examples/loadbalancer.yaml when the demo is asked for with LB_DEMO=1', async () => {
    // The tutorial's firewall answers without any backend running.
    expect((await send(bundled.url, '/messages', { headers: { host: 'www.mango.com' } })).status).toBe(403);
    expect((await send(bundled.url, '/', { headers: { host: 'www.nowhere.com' } })).status).toBe(404);
  });

  it("probes once on the isolate's first request, then not again within the check interval", async () => {
    // wrangler.toml's every-minute Cron Trigger may have fired before this test (a slow start on a
    // busy machine): then that round was the isolate's first, and no request probes again.
    const before = probes();
    expect(before).toBeLessThanOrEqual(1);
    expect((await send(withConfig.url, '/first', { headers: { host: 'a.example' } })).status).toBe(200);
    await waitFor(() => probes() === 1, 5_000, 'the first probe');
    expect((await send(withConfig.url, '/second', { headers: { host: 'a.example' } })).status).toBe(200);
    await holdsFor(() => probes() === 1, 300, 'no second probe within the check interval');
    expect(probes()).toBe(1);
  });

  it('runs a round of probes on each Cron Trigger', async () => {
    const before = probes();
    const reply = await send(withConfig.url, '/cdn-cgi/handler/scheduled');
    expect(reply.status).toBe(200);
    await waitFor(() => probes() === before + 1, 5_000, 'the Cron Trigger to probe');
  });

  it("fills ${env:NAME} in LB_CONFIG from the Worker's vars", async () => {
    const reply = await send(withConfig.url, '/env', { headers: { host: 'a.example' } });
    expect(reply.status).toBe(200);
    expect(backend.seen.some((seen) => seen.url === '/env')).toBe(true);
  });
});
