// The few Workers runtime types the entry point uses, declared here rather than pulling in
// @cloudflare/workers-types, whose globals would clash with the DOM and Node types of the rest of
// the project.
import type { SharedStateObject } from './stateMessages.ts';

/** The Worker's bindings, as wrangler.toml, `wrangler secret` or `wrangler dev --var` set them. */
export interface Env {
  /** The whole config, as YAML or JSON text. Without it (and without `LB_DEMO`) every request answers 500. */
  readonly LB_CONFIG?: string;
  /** `1` serves the bundled examples/loadbalancer.yaml when `LB_CONFIG` is unset: the demo, asked for explicitly. */
  readonly LB_DEMO?: string;
  /** The access log on `console.log`: `json` (default), `text` or `off`. */
  readonly LB_ACCESS_LOG?: string;
  /**
   * The Durable Object namespace of `SwitchyardState` (wrangler.toml): health, rate limits,
   * `/metrics` and `/status` shared by every isolate. Without it each isolate keeps its own.
   */
  readonly SWITCHYARD_STATE?: DurableObjectNamespace<SharedStateObject>;
  /** Every other var, secret or binding: `${env:NAME}` in the config reads the text ones. */
  readonly [binding: string]: unknown;
}

/** The third argument of `fetch` and `scheduled`, as Hono declares it. */
export type { ExecutionContext } from 'hono';

/** The first argument of `scheduled`: which Cron Trigger fired, and when. */
export interface ScheduledController {
  readonly scheduledTime: number;
  readonly cron: string;
  noRetry(): void;
}

/** A Durable Object binding: an object by name, and a stub to call its methods on (RPC). */
export interface DurableObjectNamespace<T> {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub<T>;
}

export interface DurableObjectId {
  toString(): string;
}

/** A Durable Object as the Worker calls it: each public method, answering through a promise. */
export type DurableObjectStub<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};
