import { FieldList } from '../http/FieldList.ts';
import type { Pool } from '../pool/Pool.ts';
import type { Exchange, OutgoingRequest } from '../Route.ts';
import type { Wire } from '../Upstream.ts';
import type { Transport } from './forward.ts';

/** The header every mirrored copy carries, so the mirror's backend (and its logs) can tell copies from real traffic. */
export const MIRROR_HEADER = 'x-switchyard-mirror';

/**
 * How many copies of one route may be on their way at once. A mirror that hangs would otherwise
 * pile up a copy (and its buffered body) per request for as long as its timeouts allow; past the
 * bound, requests are simply not copied until copies come back.
 */
export const MIRRORS_IN_FLIGHT = 1024;

/** How a runtime runs work that outlives the client's exchange. */
export interface Background<W extends Wire> {
  /** A signal for an exchange no client waits on: it never fires. A new one per exchange. */
  detachedSignal(): W['signal'];
  /** Keeps `task` alive after the response is sent (a Worker's `waitUntil`); elsewhere it simply runs. */
  run(task: Promise<unknown>): void;
}

/**
 * A route's `mirror`: a copy of a share of its requests goes to another pool, and the copy's answer
 * is thrown away. Nothing of the copy reaches the client: it is sent beside the real request, never
 * awaited, and its failures are only its backend's health observations.
 */
export class Mirror {
  /** The pool the copies go to, and its name in the config. */
  readonly pool: Pool;
  readonly poolName: string;
  /** The share of requests copied, 0-100. */
  readonly percent: number;
  readonly #random: () => number;
  #inFlight = 0;

  constructor(pool: Pool, poolName: string, percent: number, random: () => number) {
    this.pool = pool;
    this.poolName = poolName;
    this.percent = percent;
    this.#random = random;
  }

  /** Whether this request is one of the share copied: decided once per request. */
  chooses(): boolean {
    return this.percent >= 100 || (this.percent > 0 && this.#random() * 100 < this.percent);
  }

  /** Copies in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Sends a copy of `outgoing` (as rules left it) with `body` to a backend of the mirror's pool, in
   * the background. Does nothing when no backend of the pool is up or too many copies are out.
   */
  send<W extends Wire>(exchange: Exchange, outgoing: OutgoingRequest<W>, body: W['body'] | null, transport: Transport<W>, background: Background<W>): void {
    if (this.#inFlight >= MIRRORS_IN_FLIGHT) return;
    const backend = this.pool.pick(exchange);
    if (!backend) return;
    const headers = FieldList.copyOf(outgoing.headers);
    headers.set(MIRROR_HEADER, '1');
    this.#inFlight++;
    backend.inFlight++;
    const copy = transport
      .upstream({
        origin: backend.origin,
        target: backend.basePath + outgoing.path + outgoing.query,
        method: outgoing.method,
        headers,
        body,
        signal: background.detachedSignal(),
        timeouts: exchange.route.timeouts,
        tls: backend.tls,
        protocol: backend.protocol,
      })
      .then(
        (response) => {
          // The answer only tells the backend's health; its body goes unread.
          if (backend.health.passive?.statuses.has(response.status)) backend.health.recordFailure(`mirrored ${outgoing.method} ${outgoing.path} -> ${response.status}`);
          else backend.health.recordSuccess();
          if (response.body !== null) transport.bodies.discard(response.body);
        },
        (error: unknown) => {
          const reason = error instanceof Error ? error.message.split('\n')[0].slice(0, 200) : String(error);
          backend.health.recordFailure(`mirrored ${outgoing.method} ${outgoing.path} -> failed (${reason})`);
        },
      )
      .finally(() => {
        this.#inFlight--;
        backend.inFlight--;
      });
    background.run(copy);
  }
}
