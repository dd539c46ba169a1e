// The part of workerd's `cloudflare:workers` module the Worker uses (Durable Objects with RPC and
// alarms), declared here rather than pulling in @cloudflare/workers-types, whose globals would
// clash with the DOM and Node types of the rest of the project.
declare module 'cloudflare:workers' {
  /** A Durable Object's storage, as far as alarms go: one alarm per object, at-least-once. */
  export interface DurableObjectStorage {
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number): Promise<void>;
  }

  /** The `ctx` of a Durable Object. */
  export interface DurableObjectState {
    readonly storage: DurableObjectStorage;
    waitUntil(task: Promise<unknown>): void;
  }

  /** A Durable Object class with RPC: its public methods can be called on a stub from the Worker. */
  export abstract class DurableObject<Env = unknown> {
    protected readonly ctx: DurableObjectState;
    protected readonly env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}
