// The Cloudflare Workers entry point: `npx wrangler dev`, `npx wrangler deploy` (wrangler.toml).
// Served only when the demo is asked for (LB_DEMO=1) and LB_CONFIG is unset: src/workers/isolateBalancer.ts.
import bundledConfig from '../examples/loadbalancer.yaml';
import { configBroken, isolateBalancer } from './workers/isolateBalancer.ts';
import { answerAdmin, asksAdmin } from './workers/workerAdmin.ts';
import type { Env, ExecutionContext, ScheduledController } from './workers/workersTypes.ts';

/** The Durable Object class of the `SWITCHYARD_STATE` binding: the runtime finds it among the main module's exports. */
export { SwitchyardState } from './workers/SwitchyardState.ts';

const log = (line: string) => console.error(line);

export default {
  /**
   * Every request: routed and forwarded by the app compiled once per isolate. Health is brought up
   * to date after the response (`waitUntil`), never before it: from the SWITCHYARD_STATE Durable
   * Object once its copy is a second or two old, or, without the binding, by a round of this
   * isolate's own probes once per check interval. With the binding and `admin.token`, a GET of
   * `/metrics` or `/status` that carries the token is the Worker's own.
   */
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const balancer = isolateBalancer(env, bundledConfig, log);
    if (!balancer.ok) return configBroken();
    const forward = () => {
      const refresh = balancer.probeIfStale(Date.now());
      if (refresh) ctx.waitUntil(refresh);
      return balancer.app.fetch(request, env, ctx);
    };
    const token = balancer.config.config.admin?.token;
    if (token === undefined || !env.SWITCHYARD_STATE || !asksAdmin(request)) return forward();
    return answerAdmin(request, token, env.SWITCHYARD_STATE).then((answer) => answer ?? forward());
  },

  /**
   * Cron Triggers (wrangler.toml `[triggers]`): with the binding, a sync with the Durable Object,
   * which re-arms its probing alarm if it was lost, then a round of this isolate's own probes if
   * it does not follow the object (down, another config, or stale probes); without the binding,
   * that round alone.
   */
  scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): void {
    const balancer = isolateBalancer(env, bundledConfig, log);
    if (!balancer.ok) return;
    const { shared, health } = balancer;
    ctx.waitUntil(shared ? shared.syncNow().then(() => (shared.following ? undefined : health.probeAll())) : health.probeAll());
  },
};
