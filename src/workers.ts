// The Cloudflare Workers entry point: `npx wrangler dev`, `npx wrangler deploy` (wrangler.toml).
// Served only when the demo is asked for (LB_DEMO=1) and LB_CONFIG is unset: src/workers/isolateBalancer.ts.
import bundledConfig from '../examples/loadbalancer.yaml';
import { configBroken, isolateBalancer } from './workers/isolateBalancer.ts';
import type { Env, ExecutionContext, ScheduledController } from './workers/workersTypes.ts';

const log = (line: string) => console.error(line);

export default {
  /**
   * Every request: routed and forwarded by the app compiled once per isolate. The isolate's first
   * request, and then the first one after each check interval, also starts a round of health probes
   * that runs after the response (`waitUntil`); the request itself never waits for it.
   */
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const balancer = isolateBalancer(env, bundledConfig, log);
    if (!balancer.ok) return configBroken();
    const round = balancer.probeIfStale(Date.now());
    if (round) ctx.waitUntil(round);
    return balancer.app.fetch(request, env, ctx);
  },

  /** Cron Triggers (wrangler.toml `[triggers]`): a round of health probes in the isolate that runs it. */
  scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): void {
    const balancer = isolateBalancer(env, bundledConfig, log);
    if (balancer.ok) ctx.waitUntil(balancer.health.probeAll());
  },
};
