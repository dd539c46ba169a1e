import type { PickRequest } from '../balancing/BalancingStrategy.ts';
import { FieldList } from '../http/FieldList.ts';
import type { HeaderFields } from '../http/HeaderFields.ts';
import type { Background, BodyHandling, Timeouts, Upstream, Wire } from '../Upstream.ts';
import type { Pool } from './Pool.ts';

/** The header every mirrored copy carries, so the mirror's backend (and its logs) can tell copies from real traffic. */
export const MIRROR_HEADER = 'x-switchyard-mirror';

/**
 * How many copies of one route may be on their way at once, and how many bytes of bodies they may
 * hold. A mirror that hangs would otherwise pile up a copy (and its buffered body) per request for
 * as long as its timeouts allow; past either bound, requests are simply not copied until copies
 * come back.
 */
export const MIRRORS_IN_FLIGHT = 1024;
export const MIRROR_BYTES_IN_FLIGHT = 32 * 1024 * 1024;

/** The request a copy is made of: as it leaves the balancer, rules applied. */
export interface MirroredRequest<W extends Wire> {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: HeaderFields;
  /** A body the primary request does not consume (a replay of the bytes read ahead), or null. */
  readonly body: W['body'] | null;
  /** Its length in bytes, counted against MIRROR_BYTES_IN_FLIGHT. */
  readonly bodyBytes: number;
  readonly timeouts: Timeouts;
}

/** What sending a copy needs of the runtime. */
export interface MirrorTransport<W extends Wire> {
  readonly upstream: Upstream<W>;
  readonly bodies: BodyHandling<W>;
  readonly background: Background<W>;
}

/**
 * A route's `mirror`: a copy of a share of its requests goes to another pool, and the copy's answer
 * is thrown away. Nothing of the copy reaches the client: it is sent beside the real request, never
 * awaited, and its failures are only its backend's health observations.
 */
export class Mirror {
  /** The pool the copies go to: a named one (`pool.name`). */
  readonly pool: Pool;
  /** The share of requests copied, 0-100. */
  readonly percent: number;
  readonly #random: () => number;
  #inFlight = 0;
  #bytesInFlight = 0;

  constructor(pool: Pool, percent: number, random: () => number) {
    this.pool = pool;
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
   * Sends a copy of `request` to a backend of the mirror's pool, in the background. Does nothing
   * when no backend of the pool is up, or too many copies (or bytes of them) are out.
   * @param client what the pool's algorithm picks by (the client's request: its address, headers)
   */
  send<W extends Wire>(client: PickRequest, request: MirroredRequest<W>, transport: MirrorTransport<W>): void {
    if (this.#inFlight >= MIRRORS_IN_FLIGHT || this.#bytesInFlight + request.bodyBytes > MIRROR_BYTES_IN_FLIGHT) return;
    const backend = this.pool.pick(client);
    if (!backend) return;
    const headers = FieldList.copyOf(request.headers);
    headers.set(MIRROR_HEADER, '1');
    this.#inFlight++;
    this.#bytesInFlight += request.bodyBytes;
    backend.inFlight++;
    // Called inside a promise: an upstream that throws at once fails the copy, never the request.
    const copy = Promise.resolve().then(() =>
      transport.upstream({
        origin: backend.origin,
        target: backend.basePath + request.path + request.query,
        method: request.method,
        headers,
        body: request.body,
        signal: transport.background.detachedSignal(),
        timeouts: request.timeouts,
        tls: backend.tls,
        protocol: backend.protocol,
      }),
    );
    const settled = copy
      .then(
        (response) => {
          // The answer only tells the backend's health; its body goes unread.
          if (backend.health.passive?.statuses.has(response.status)) backend.health.recordFailure(`mirrored ${request.method} ${request.path} -> ${response.status}`);
          else backend.health.recordSuccess();
          if (response.body !== null) transport.bodies.discard(response.body);
        },
        (error: unknown) => {
          const reason = error instanceof Error ? error.message.split('\n')[0].slice(0, 200) : String(error);
          backend.health.recordFailure(`mirrored ${request.method} ${request.path} -> failed (${reason})`);
        },
      )
      .finally(() => {
        this.#inFlight--;
        this.#bytesInFlight -= request.bodyBytes;
        backend.inFlight--;
      });
    transport.background.run(settled);
  }
}
