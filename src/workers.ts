// The Cloudflare Workers entry point: `npx wrangler dev`, `npx wrangler deploy` (wrangler.toml).
import bundledConfig from '../examples/loadbalancer.yaml';
import { configBroken, isolateBalancer } from './workers/isolateBalancer.ts';
import type { Env, ExecutionContext, ScheduledController } from './workers/workersTypes.ts';

const log = (line: string) => console.error(line);

export default {
  /** Every request: routed and forwarded by the app compiled once per isolate. */
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const balancer = isolateBalancer(env, bundledConfig, log);
    if (!balancer.ok) return configBroken();
    return balancer.app.fetch(request, env, ctx);
  },

  /** Cron Triggers (wrangler.toml `[triggers]`): active health probes for this isolate's backends. */
  scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): void {
    const balancer = isolateBalancer(env, bundledConfig, log);
    if (!balancer.ok) return;
    // TODO(health): ctx.waitUntil(probeAll()) once src/core/health/startHealthChecks.ts has landed.
    void ctx;
  },
};
