import process from 'node:process';
import type { HealthEvent, HealthState } from '../core/health/HealthState.ts';
import type { Backend } from '../core/pool/Backend.ts';
import { parseHealthNews, type HealthNews } from './healthNews.ts';
import type { SharedLink } from './SharedStores.ts';

export interface FleetHealthOptions {
  readonly log: (line: string) => void;
  /**
   * Names this process in what it publishes and in the others' log lines. @default `HOSTNAME/PID/RANDOM`:
   * the `HOSTNAME` environment variable (containers set it; `os.hostname()` would need `--allow-sys` on Deno), else `PID/RANDOM`
   */
  readonly instance?: string;
  /** Told after news from another instance changed a backend here (the `--workers` primary passes it on). @default none */
  readonly applied?: (backend: Backend) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What is followed of one backend: the object of the config in use, and the health it shares with the configs before. */
interface Followed {
  backend: Backend;
  readonly health: HealthState;
  readonly unsubscribe: () => void;
}

/** How long a failed publish or hash read waits before it is tried again, while Redis answers. */
const RETRY_MS = 1_000;

/**
 * Health shared by every instance of a fleet through Redis (`store`), identified by backend URL
 * (`Backend.id`): a verdict this instance's probes reach (down, or up again), a passive ejection
 * and an admin drain or undrain are published on the channel `<prefix>health`; the others adopt
 * them at once, without a probe streak of their own (`HealthState.adoptVerdict`,
 * `adoptEjection`). The latest verdict and drain of each backend are also kept in the hash
 * `<prefix>health` (fields `verdict <URL>`, `drain <URL>`), read after every (re)subscription, so
 * an instance that starts, or was cut off from Redis, catches up (news heard after the read left
 * wins over what it finds); what the hash lost (a Redis restarted without persistence) each
 * instance writes again: its own down verdicts, and every drain it holds, whoever made it. Ejections
 * are not kept: they end by themselves. Nothing here is on the request path: publishing is not
 * awaited, and news is applied when it arrives.
 *
 * A verdict is news only when this instance's probes reach it through `unhealthy_threshold` or
 * `healthy_threshold`: a first check, which decides at once, is kept to this instance, so one
 * booting instance whose network is not ready yet cannot take a healthy backend out of the fleet.
 *
 * Conflicting views: the latest change wins. Every instance keeps probing, so a `down` heard from
 * another instance holds here until this instance's own probes pass `healthy_threshold` times in a
 * row (then it publishes `up`) or another instance publishes `up`. A backend without active
 * checks here adopts no verdict, since nothing here could ever bring it back.
 */
export class FleetHealth {
  readonly instance: string;
  readonly #options: FleetHealthOptions;
  readonly #now: () => number;
  readonly #followed = new Map<string, Followed>();
  #shared: SharedLink | undefined;
  #subscribed = false;
  /** This instance's news that the hash may not hold yet (Redis away, a publish failed), by hash field. */
  readonly #unsent = new Map<string, HealthNews>();
  /** Backends down here because another instance said so (not this instance's own verdict). */
  readonly #heardDown = new Set<string>();
  /** This instance's own latest down verdict of each backend, to write again where Redis lost it. */
  readonly #ownDown = new Map<string, HealthNews>();
  /** The fleet's drained backends as known here, with the instance that drained each: a reload's new backend objects are drained again. */
  readonly #drained = new Map<string, string>();
  /** Set while news is applied, so that the changes it makes are not published back. */
  #applying = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** News heard so far, and when (in that count) each hash field was last heard: a hash read that left before must not undo it. */
  #heardCount = 0;
  readonly #heardAt = new Map<string, number>();
  /** What fails while Redis answers (a Redis user without the channel or hash: NOPERM), by operation, with why. */
  readonly #failing = new Map<string, string>();

  constructor(options: FleetHealthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.instance = options.instance ?? [process.env.HOSTNAME, process.pid, crypto.randomUUID().slice(0, 4)].filter(Boolean).join('/');
  }

  /**
   * Follows the backends of the config in use: at start-up and after each reload (a backend
   * whose health the reload kept stays followed). Drains the fleet holds apply to them too.
   */
  follow(backends: readonly Backend[]): void {
    const next = new Map(backends.map((backend) => [backend.id, backend]));
    for (const [id, followed] of this.#followed) {
      const backend = next.get(id);
      if (backend?.health === followed.health) followed.backend = backend;
      else {
        followed.unsubscribe();
        this.#followed.delete(id);
      }
    }
    let added = false;
    for (const backend of backends) {
      if (this.#drained.has(backend.id)) backend.draining = true;
      if (this.#followed.has(backend.id)) continue;
      added = true;
      const followed: Followed = { backend, health: backend.health, unsubscribe: backend.health.subscribe((event) => this.#observed(followed, event)) };
      this.#followed.set(backend.id, followed);
      // A first check (at start-up, or new health settings on reload) is not news, even a failed
      // one: it decides without unhealthy_threshold, and may only say that this instance's own
      // network is not ready yet. The fleet hears this instance's verdicts reached by threshold.
      this.#ownDown.delete(backend.id);
    }
    // What the fleet holds of a backend new here.
    if (added) this.#resync();
  }

  /**
   * Shares through `shared` from now on (undefined: shares nothing, as without `store`). What this
   * instance holds (its own down verdicts, its drained backends) is told to the Redis it joins.
   */
  use(shared: SharedLink | undefined): void {
    if (shared === this.#shared) return;
    this.#shared = shared;
    this.#subscribed = false;
    this.#failing.clear();
    this.#unsent.clear();
    clearTimeout(this.#retry);
    if (!shared) return void this.#drained.clear();
    const current = () => shared === this.#shared;
    shared.link.subscribe(`${shared.prefix}health`, {
      heard: (message) => void (current() && this.#heard(message)),
      subscribed: () => {
        if (!current()) return;
        this.#subscribed = true;
        this.#worked('subscribe to');
        this.#resync();
      },
      refused: (reason) => void (current() && this.#failed('subscribe to', reason)),
    });
    shared.link.onChange((ready) => {
      if (!current()) return;
      if (ready) return this.#resync();
      // The connection is lost: the subscription with it, until `subscribed` again.
      this.#subscribed = false;
    });
    for (const { backend } of this.#followed.values()) {
      if (backend.draining && !this.#drained.has(backend.id)) this.#drained.set(backend.id, this.instance);
      this.#tellOwn(backend.id, 'verdict');
      this.#tellOwn(backend.id, 'drain');
    }
  }

  /**
   * Whether health is shared now: Redis answers, the channel is subscribed and nothing on it
   * fails (`switchyard_store_health_shared`); undefined without a store.
   */
  get shared(): boolean | undefined {
    if (!this.#shared) return undefined;
    return this.#shared.link.ready && this.#subscribed && this.#failing.size === 0;
  }

  /** The admin API drained or undrained `backend` here (called for every change it makes: only drains are shared). */
  drainChanged(backend: Backend): void {
    if (!this.#shared || backend.draining === this.#drained.has(backend.id)) return;
    this.#tell({ kind: backend.draining ? 'drained' : 'undrained', backend: backend.id });
  }

  /** Stops following and sharing (the link is closed by `SharedStores`). */
  close(): void {
    this.use(undefined);
    for (const followed of this.#followed.values()) followed.unsubscribe();
    this.#followed.clear();
  }

  #observed(followed: Followed, event: HealthEvent): void {
    if (this.#applying) return;
    const backend = followed.backend.id;
    if (event.kind === 'up' || event.kind === 'down') {
      // A first check is no news (see follow): only verdicts reached through the thresholds are.
      if (event.first) return;
      this.#heardDown.delete(backend);
      this.#tell({ kind: event.kind, backend, reason: event.reason, streak: event.streak });
    } else if (event.kind === 'ejected') {
      const forMs = followed.health.ejectedUntil - this.#now();
      if (forMs > 0) this.#tell({ kind: 'ejected', backend, reason: event.reason, streak: event.streak, forMs, cooldownMs: event.cooldownMs, ejections: followed.health.ejections });
    }
  }

  /** Publishes news of this instance, and keeps it (verdicts, drains) until the hash holds it. */
  #tell(news: DistributiveOmit<HealthNews, 'from'>, from = this.instance): void {
    const told = { ...news, from } as HealthNews;
    if (told.kind === 'down') this.#ownDown.set(told.backend, told);
    if (told.kind === 'up') this.#ownDown.delete(told.backend);
    if (!this.#shared) return;
    this.#noteDrain(told);
    const field = fieldOf(told);
    if (field) this.#unsent.set(field, told);
    if (this.#shared.link.ready) void this.#send(told);
  }

  async #send(news: HealthNews): Promise<void> {
    const shared = this.#shared!;
    const field = fieldOf(news);
    const key = `${shared.prefix}health`;
    const message = JSON.stringify(news);
    try {
      await shared.link.announce(key, message, field === undefined ? undefined : { key, field, value: message });
      if (field && this.#unsent.get(field) === news) this.#unsent.delete(field);
      if (shared === this.#shared) this.#worked('publish on');
    } catch (error) {
      if (shared === this.#shared && shared.link.ready) this.#failed('publish on', messageOf(error));
      // An ejection is not worth a retry: it ends by itself soon.
      if (field) this.#later();
    }
  }

  #heard(message: string): void {
    const news = parseHealthNews(message);
    if (!news || news.from === this.instance) return;
    const field = fieldOf(news);
    if (field && this.#followed.has(news.backend)) this.#heardAt.set(field, ++this.#heardCount);
    // Called from the Redis client's message event: a throw here would end the process.
    try {
      this.#apply(news);
    } catch (error) {
      this.#options.log(`health: cannot apply news from ${news.from} about ${news.backend}: ${messageOf(error)}`);
    }
  }

  /** Takes news from another instance as this instance's own state, without publishing it back. */
  #apply(news: HealthNews): void {
    this.#noteDrain(news);
    const followed = this.#followed.get(news.backend);
    if (!followed) return;
    const { backend, health } = followed;
    const state = () => `${health.state} ${health.ejectedUntil} ${backend.draining}`;
    const before = state();
    this.#applying = true;
    try {
      switch (news.kind) {
        case 'down':
          if (!health.active || health.state === 'down') break;
          this.#heardDown.add(backend.id);
          health.adoptVerdict('down', `${news.from} found it down: ${news.reason}${streak(news.streak, 'failed check')}`);
          break;
        case 'up':
          this.#heardDown.delete(backend.id);
          if (health.state === 'down') health.adoptVerdict('up', `${news.from} found it up: ${news.reason}${streak(news.streak, 'passed check')}`);
          break;
        case 'ejected':
          // No longer than this instance's own longest cool-down: a peer's config does not set it here.
          health.adoptEjection(this.#now() + Math.min(news.forMs, health.passive?.maxCooldownMs ?? news.forMs), news.cooldownMs, news.ejections, `ejected by ${news.from}: ${news.reason}`, news.streak);
          break;
        default: {
          const draining = news.kind === 'drained';
          if (backend.draining === draining) break;
          backend.draining = draining;
          this.#options.log(`health: ${backend.id} ${news.kind} by ${news.from}${draining ? '; no new requests go to it here either' : ''}`);
        }
      }
    } finally {
      this.#applying = false;
    }
    if (state() !== before) this.#options.applied?.(backend);
  }

  /** Notes a drain of a backend followed here (others' drains reach a backend added later through the hash, so the map stays bounded by the config). */
  #noteDrain(news: HealthNews): void {
    if (news.kind === 'drained' && this.#followed.has(news.backend)) this.#drained.set(news.backend, news.from);
    if (news.kind === 'undrained') this.#drained.delete(news.backend);
  }

  /**
   * Catches up after a (re)subscription: reads the hash and applies what other instances wrote
   * last; writes what this instance could not (its news is newer than what it finds), and what
   * the hash lost of this instance's own verdicts and drains.
   */
  async #sync(): Promise<void> {
    const shared = this.#shared;
    if (!shared || !this.#subscribed || !shared.link.ready) return;
    const asked = this.#heardCount;
    let hash: Record<string, string>;
    try {
      hash = await shared.link.readHash(`${shared.prefix}health`);
    } catch (error) {
      if (shared === this.#shared && shared.link.ready) this.#failed('read', messageOf(error));
      return this.#later();
    }
    if (shared !== this.#shared) return;
    this.#worked('read');
    const held = new Map<string, HealthNews>();
    for (const [field, value] of Object.entries(hash)) {
      const news = parseHealthNews(value);
      if (news && fieldOf(news) === field) held.set(field, news);
    }
    for (const id of new Set([...this.#followed.keys(), ...[...held.values()].map((news) => news.backend)])) {
      for (const kind of ['verdict', 'drain'] as const) {
        const field = `${kind} ${id}`;
        // Its own news not yet in the hash, or news heard after the hash was read, is newer than what the read found.
        if (this.#unsent.has(field) || (this.#heardAt.get(field) ?? 0) > asked) continue;
        const found = held.get(field);
        if (found) {
          if (found.from !== this.instance) this.#apply(found);
        } else this.#tellOwn(id, kind);
      }
    }
    for (const news of this.#unsent.values()) void this.#send(news);
  }

  /** Tells what this instance holds of a backend by its own findings: its down verdict, its drain. */
  #tellOwn(id: string, kind: 'verdict' | 'drain'): void {
    if (this.#unsent.has(`${kind} ${id}`)) return;
    if (kind === 'drain') {
      // A drain is the fleet's, not its maker's (who may have restarted since, under a new id):
      // whoever holds it writes it again, naming who made it.
      const from = this.#drained.get(id);
      if (from !== undefined) this.#tell({ kind: 'drained', backend: id }, from);
      return;
    }
    const down = this.#ownDown.get(id);
    if (down && this.#followed.get(id)?.health.state === 'down' && !this.#heardDown.has(id)) this.#tell(down);
  }

  /** `#sync` with nothing left to reject: a listener that throws while news is applied is logged, never an unhandled rejection. */
  #resync(): void {
    this.#sync().catch((error: unknown) => this.#options.log(`health: cannot apply what the fleet holds (${messageOf(error)})`));
  }

  /** Something failed while Redis answers: one log line when sharing stops, naming Redis's reason. */
  #failed(operation: string, reason: string): void {
    if (this.#failing.size === 0) {
      const name = `${this.#shared!.prefix}health`;
      this.#options.log(`health: cannot ${operation} ${name} in redis (${reason}); this instance's health stays its own until it can (the Redis user needs the channel and the key ${name})`);
    }
    this.#failing.set(operation, reason);
  }

  #worked(operation: string): void {
    if (!this.#failing.delete(operation) || this.#failing.size > 0) return;
    this.#options.log(`health: shared through redis again`);
  }

  #later(): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#resync(), RETRY_MS);
    (this.#retry as { unref?: () => void }).unref?.();
  }
}

/** The hash field that keeps a piece of news, undefined for one that is not kept (an ejection). */
function fieldOf(news: HealthNews): string | undefined {
  switch (news.kind) {
    case 'down':
    case 'up':
      return `verdict ${news.backend}`;
    case 'drained':
    case 'undrained':
      return `drain ${news.backend}`;
    default:
      return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function streak(count: number, noun: string): string {
  return count > 0 ? ` (${count} ${noun}${count === 1 ? '' : 's'} in a row)` : '';
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
