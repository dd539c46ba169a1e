import { ConfigError } from '../core/config/ConfigError.ts';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../core/config/loadConfig.ts';
import type { Env } from './workersTypes.ts';

/** Where the Worker's config comes from: `LB_CONFIG`, the bundled demo (`LB_DEMO=1`), or nowhere. */
export interface WorkerConfigSource {
  /** The config text; undefined when neither `LB_CONFIG` nor `LB_DEMO` is set. */
  readonly text: string | undefined;
  /** What error messages call it. */
  readonly fileName: string;
  /** The name and the text together: the same key means the same config. */
  readonly key: string;
}

/** The config the Worker's bindings ask for. @param bundledConfig the text of examples/loadbalancer.yaml */
export function workerConfigSource(env: Env, bundledConfig: string): WorkerConfigSource {
  const demo = env.LB_CONFIG === undefined && isDemo(env.LB_DEMO);
  const text = env.LB_CONFIG ?? (demo ? bundledConfig : undefined);
  const fileName = demo ? 'examples/loadbalancer.yaml' : 'LB_CONFIG';
  return { text, fileName, key: text === undefined ? 'missing' : `${fileName}\n${text}` };
}

/**
 * Loads the config text with `${env:NAME}` read from the Worker's bindings, telling `read` of each
 * binding read; a config that does not load comes back as the problem, as a log line shows it.
 */
export function loadWorkerConfig(
  env: Env,
  source: WorkerConfigSource & { readonly text: string },
  options: Omit<LoadOptions, 'env'> & { readonly read?: (name: string, value: string | undefined) => void } = {},
): { readonly ok: true; readonly config: LoadedConfig } | { readonly ok: false; readonly problem: string } {
  try {
    const read = (name: string) => {
      const value = bindingText(env, name);
      options.read?.(name, value);
      return value;
    };
    return { ok: true, config: loadConfig(source.text, source.fileName, { ...options, env: read }) };
  } catch (error) {
    const problem = error instanceof ConfigError ? error.message : `${source.fileName}: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false, problem };
  }
}

/** A binding as `${env:NAME}` reads it: vars and secrets are text; a KV namespace or such is not set. */
export function bindingText(env: Env, name: string): string | undefined {
  const value = env[name];
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** `LB_DEMO=1` (or `true`) asks for the bundled demo config; anything else does not. */
function isDemo(value: string | undefined): boolean {
  return value === '1' || value?.toLowerCase() === 'true';
}
