// What `cloudflare:workers` is when vitest imports the Worker's modules in Node (vitest.config.ts
// aliases it here): the Durable Object base class, which only keeps its arguments.
export class DurableObject<Env = unknown> {
  protected readonly ctx: unknown;
  protected readonly env: Env;
  constructor(ctx: unknown, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }
}
