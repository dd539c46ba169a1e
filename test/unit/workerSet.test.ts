import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';
import { describe, expect, it } from 'vitest';
import type { ToPrimary, ToWorker } from '../../src/cli/workers/messages.ts';
import { WorkerSet } from '../../src/cli/workers/WorkerSet.ts';

/** A worker process as node:cluster's primary sees it: what it was sent, and a way to make it speak or exit. */
class FakeWorker extends EventEmitter {
  static next = 1;
  readonly id = FakeWorker.next++;
  readonly sent: ToWorker[] = [];
  readonly process = { pid: 1000 + this.id, kill: () => this.exit('SIGKILL') };
  dead = false;
  constructor(readonly slot: number) {
    super();
  }
  send(message: ToWorker): boolean {
    this.sent.push(message);
    return true;
  }
  isConnected(): boolean {
    return !this.dead;
  }
  isDead(): boolean {
    return this.dead;
  }
  says(message: ToPrimary): void {
    this.emit('message', message);
  }
  exit(signal: string | null = null): void {
    if (this.dead) return;
    this.dead = true;
    this.emit('exit', signal ? null : 0, signal);
  }
}

function workerSet(count: number) {
  const forked: FakeWorker[] = [];
  const received: ToPrimary[] = [];
  const set = new WorkerSet({
    count,
    drainMs: 30_000,
    log: () => {},
    received: (message) => received.push(message),
    fork: (env) => {
      const worker = new FakeWorker(Number(env.SWITCHYARD_WORKER));
      forked.push(worker);
      return worker as unknown as Worker;
    },
  });
  return { set, forked, received };
}

const types = (worker: FakeWorker) => worker.sent.map((message) => message.type);

describe('WorkerSet (--workers)', () => {
  it('sends nothing to a worker before its hello, which it might lose, and all after', () => {
    const { set, forked } = workerSet(1);
    set.start();
    const [worker] = forked;
    set.broadcast({ type: 'stop-now' });
    expect(worker.sent).toEqual([]);
    worker.says({ type: 'hello' });
    set.broadcast({ type: 'stop-now' });
    expect(types(worker)).toEqual(['stop-now']);
  });

  it('asks a worker that says hello after a stop began to stop too', () => {
    const { set, forked } = workerSet(1);
    set.start();
    void set.stop(30_000);
    forked[0].says({ type: 'hello' });
    expect(types(forked[0]).filter((type) => type === 'stop')).toHaveLength(2);
  });

  it('replaces a worker that cannot take a reload: the old one drains only once the new one is ready, and is not restarted', () => {
    const { set, forked } = workerSet(2);
    set.start();
    for (const worker of forked) worker.says({ type: 'hello' }), worker.says({ type: 'ready', urls: [] });
    const [old] = forked;
    set.replace(old as unknown as Worker);
    expect(forked).toHaveLength(3);
    const replacement = forked[2];
    expect(replacement.slot).toBe(1);
    expect(types(old)).not.toContain('stop');
    replacement.says({ type: 'hello' });
    replacement.says({ type: 'ready', urls: [] });
    expect(old.sent.at(-1)).toEqual({ type: 'stop', drainMs: 30_000 });
    old.exit();
    expect(forked).toHaveLength(3);
    expect(types(forked[1])).not.toContain('stop');
  });

  it('on a second signal tells every worker to stop now, and resolves once they have exited', async () => {
    const { set, forked } = workerSet(2);
    set.start();
    for (const worker of forked) worker.on('exit', () => {});
    const stopped = set.stopNow();
    expect(forked.map(types)).toEqual([['stop-now'], ['stop-now']]);
    for (const worker of forked) worker.exit();
    await stopped;
  });
});
