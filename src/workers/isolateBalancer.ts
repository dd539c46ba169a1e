import type { Context, Hono } from 'hono';
import { createApp } from '../app.ts';
import { ConfigError } from '../core/config/ConfigError.ts';
import { loadConfig, type LoadedConfig } from '../core/config/loadConfig.ts';
import { fetchUpstream } from '../core/proxy/fetchUpstream.ts';
import { plainResponse } from '../core/responses.ts';
import type { Env } from './workersTypes.ts';

/** What one isolate keeps between requests: the compiled config and the app built on it. */
export type IsolateBalancer =
  | { readonly ok: true; readonly config: LoadedConfig; readonly app: Hono }
  | { readonly ok: false; readonly problem: string };

let current: { readonly source: string; readonly balancer: IsolateBalancer } | undefined;

/**
 * The balancer for this isolate, compiled once from `LB_CONFIG` (or the bundled example) and reused
 * by every later request and cron event the isolate serves. A config that fails to load is
 * remembered too, so every request answers 500 at once instead of parsing the text again.
 * @param bundledConfig the text of examples/loadbalancer.yaml, as wrangler bundles it
 */
export function isolateBalancer(env: Env, bundledConfig: string, log: (line: string) => void): IsolateBalancer {
  const source = env.LB_CONFIG ?? bundledConfig;
  if (current?.source === source) return current.balancer;
  const fileName = env.LB_CONFIG === undefined ? 'examples/loadbalancer.yaml' : 'LB_CONFIG';
  let balancer: IsolateBalancer;
  try {
    const config = loadConfig(source, fileName);
    balancer = { ok: true, config, app: createApp({ config, upstream: fetchUpstream(), clientAddress, log }) };
  } catch (error) {
    const problem = error instanceof ConfigError ? error.message : `${fileName}: ${error instanceof Error ? error.message : String(error)}`;
    log(`switchyard: cannot load the config:\n${problem}`);
    balancer = { ok: false, problem };
  }
  current = { source, balancer };
  return balancer;
}

/** The answer to every request while the config is broken; the details go to the Worker's logs only. */
export function configBroken(): Response {
  return plainResponse(500, 'Internal Server Error: the balancer config does not load; see the Worker logs');
}

/** Cloudflare's edge puts the client's address in `CF-Connecting-IP`; wrangler dev does too. */
function clientAddress(c: Context): string | undefined {
  return c.req.header('cf-connecting-ip') ?? undefined;
}
